/**
 * Splits a byte stream into lines in one pass, holding at most one line of bounded length.
 *
 * A worker may print a single JSONL line of hundreds of megabytes (a command's whole output in one
 * `aggregated_output`), and may take minutes to finish it. Re-joining and re-scanning text on every
 * chunk made that quadratic and unbounded in memory; here every byte is looked at once, and a line
 * longer than `maxBytes` is not kept at all: its bytes are counted and dropped up to the next
 * newline, and it is reported through {@link LineSplitter.cut} instead of {@link LineSplitter.push}'s
 * callback.
 *
 * Lines are decoded as UTF-8 one at a time: a newline byte never occurs inside a multi-byte
 * character, so a line is always whole characters. A trailing `\r` is removed. Blank lines are
 * passed on as well; the caller decides what they mean.
 */
export class LineSplitter {
  /** Lines longer than the limit that were dropped, and the size of the longest one. */
  readonly cut = { lines: 0, longestBytes: 0 };

  readonly #maxBytes: number;
  readonly #onLine: (line: string) => void;
  readonly #decoder = new TextDecoder();
  #parts: Uint8Array[] = [];
  #size = 0;
  /** Bytes of the overlong line being skipped, or -1 while the current line is still kept. */
  #skipped = -1;

  constructor(maxBytes: number, onLine: (line: string) => void) {
    this.#maxBytes = maxBytes;
    this.#onLine = onLine;
  }

  /** Takes the next chunk of the stream; calls `onLine` for every line it completes. */
  push(chunk: Uint8Array): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(10, start);
      const end = newline < 0 ? chunk.length : newline;
      this.#take(chunk.subarray(start, end));
      if (newline < 0) return;
      this.#endLine();
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (this.#size > 0 || this.#skipped > 0) this.#endLine();
  }

  #take(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#skipped >= 0) {
      this.#skipped += bytes.length;
      return;
    }
    if (this.#size + bytes.length > this.#maxBytes) {
      this.#skipped = this.#size + bytes.length;
      this.#parts = [];
      this.#size = 0;
      return;
    }
    // A copy: the stream may hand out views of a buffer it reuses.
    this.#parts.push(bytes.slice());
    this.#size += bytes.length;
  }

  #endLine(): void {
    if (this.#skipped >= 0) {
      this.cut.lines++;
      this.cut.longestBytes = Math.max(this.cut.longestBytes, this.#skipped);
      this.#skipped = -1;
      return;
    }
    const bytes = this.#parts.length === 1 ? this.#parts[0] : concat(this.#parts, this.#size);
    this.#parts = [];
    this.#size = 0;
    const line = this.#decoder.decode(bytes);
    this.#onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
