/**
 * Reading a small file that people keep in the repository (the config) without trusting what is
 * at its path: a FIFO there would block the reader until something writes to it, `/dev/zero` or
 * `/dev/urandom` would never end and grow memory without bound, and a huge file would be read
 * whole on every command. Such a path is refused without being read — with the same limits as a
 * ticket file.
 */

/** Why a file was refused without being read. */
export class RefusedFile extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(`${path} ${reason}`);
    this.name = "RefusedFile";
  }
}

/**
 * The bytes of `path` if it is a regular file (symlinks followed) of at most `maxBytes`. Throws
 * `Deno.errors.NotFound` when there is nothing at the path, {@link RefusedFile} when it is not a
 * regular file, is too large, or grows while it is read (never more than one byte past its size
 * is read), and Deno's error when it cannot be read. The opened file is checked to be the one that
 * was looked at.
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Uint8Array> {
  const looked = await Deno.stat(path);
  if (looked.isDirectory) throw new RefusedFile(path, "is a directory, not a file");
  if (!looked.isFile) throw new RefusedFile(path, "is not a regular file (a pipe or device?)");
  if (looked.size > maxBytes) throw new RefusedFile(path, tooLarge(looked.size, maxBytes));
  using file = await Deno.open(path);
  const opened = await file.stat();
  if (!opened.isFile || opened.ino !== looked.ino || opened.dev !== looked.dev) {
    throw new RefusedFile(path, "changed while it was being opened");
  }
  const buffer = new Uint8Array(looked.size + 1);
  let read = 0;
  while (read < buffer.length) {
    const n = await file.read(buffer.subarray(read));
    if (n === null) break;
    read += n;
  }
  if (read > looked.size) throw new RefusedFile(path, "grew while it was being read: try again");
  return buffer.subarray(0, read);
}

function tooLarge(size: number, maxBytes: number): string {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1).replace(/\.0$/, "")} MiB`;
  return `is ${mib(size)}; it may be at most ${mib(maxBytes)}`;
}

/**
 * At most `maxBytes` of a stream (stdin, a pipe, `/dev/zero`), or null when it holds more: what
 * is read is bounded even when the stream never ends. The stream is cancelled once past the limit.
 */
export async function readAtMost(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        return null;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}
