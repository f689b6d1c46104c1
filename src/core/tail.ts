/**
 * Reads at most the last `maxBytes` of a file as text, starting at a line boundary when it had to
 * cut (so the first line is never half an event) and never inside a UTF-8 character. A missing
 * file reads as "".
 */
export async function readTail(path: string, maxBytes: number): Promise<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch {
    return "";
  }
  try {
    const size = (await file.stat()).size;
    const start = Math.max(0, size - maxBytes);
    await file.seek(start, Deno.SeekMode.Start);
    const buffer = new Uint8Array(size - start);
    let read = 0;
    while (read < buffer.length) {
      const n = await file.read(buffer.subarray(read));
      if (n === null) break;
      read += n;
    }
    let bytes = buffer.subarray(0, read);
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
