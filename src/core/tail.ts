/**
 * Bounded reads of log files that may still be growing: a tail, a byte range, a size. None of them
 * loads a whole large file, and none opens anything but a regular file: a FIFO put in place of a
 * log would block the reader forever, a device would never end.
 */

/**
 * Reads at most the last `maxBytes` of a file as text, starting at a line boundary when it had to
 * cut (so the first line is never half an event) and never inside a UTF-8 character. A missing
 * file reads as "".
 */
export async function readTail(path: string, maxBytes: number): Promise<string> {
  let file: Deno.FsFile;
  try {
    file = await _openRegular(path);
  } catch {
    return "";
  }
  try {
    const size = (await file.stat()).size;
    const start = Math.max(0, size - maxBytes);
    let bytes = await _readAt(file, start, size - start);
    if (start > 0) {
      const newline = bytes.indexOf(10);
      bytes = newline >= 0 ? bytes.subarray(newline + 1) : bytes;
      while (bytes.length > 0 && (bytes[0] & 0xc0) === 0x80) bytes = bytes.subarray(1);
    }
    return new TextDecoder().decode(bytes);
  } finally {
    file.close();
  }
}

/**
 * Bytes `start`..`end` of a file, fewer when the file is shorter than `end` (it was truncated
 * meanwhile). Throws when the file cannot be opened: callers check its size first.
 */
export async function readRange(path: string, start: number, end: number): Promise<Uint8Array> {
  using file = await _openRegular(path);
  return await _readAt(file, start, end - start);
}

/** The size of a file in bytes; a file that does not exist (yet), or is not a file, counts as empty. */
export async function fileSize(path: string): Promise<number> {
  try {
    const info = await Deno.stat(path);
    return info.isFile ? info.size : 0;
  } catch {
    return 0;
  }
}

/**
 * Opens `path` for reading only if it is a regular file (symlinks followed), and checks that what
 * was opened is the file that was looked at, not something swapped in between.
 */
async function _openRegular(path: string): Promise<Deno.FsFile> {
  const looked = await Deno.stat(path);
  if (!looked.isFile) throw new Deno.errors.InvalidData(`${path} is not a regular file`);
  const file = await Deno.open(path);
  const opened = await file.stat();
  if (!opened.isFile || opened.ino !== looked.ino || opened.dev !== looked.dev) {
    file.close();
    throw new Deno.errors.InvalidData(`${path} changed while it was being opened`);
  }
  return file;
}

async function _readAt(file: Deno.FsFile, start: number, length: number): Promise<Uint8Array> {
  await file.seek(start, Deno.SeekMode.Start);
  const buffer = new Uint8Array(length);
  let read = 0;
  while (read < buffer.length) {
    const n = await file.read(buffer.subarray(read));
    if (n === null) break;
    read += n;
  }
  return buffer.subarray(0, read);
}
