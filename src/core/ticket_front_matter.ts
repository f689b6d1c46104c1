/**
 * Locating a ticket's front matter block in its text, shared by parsing (which reads it) and
 * editing (which rewrites one value inside it and must leave every other byte alone).
 */

/** Where the front matter is, or why there is none. Lines are 1-based; offsets index `text`. */
export type FrontMatterSplit =
  | {
    kind: "ok";
    /** Line of the opening `---`. */
    openLine: number;
    /** Line of the closing `---`. */
    closeLine: number;
    /** Offset of the first character after the opening fence's line end. */
    blockStart: number;
    /** Offset of the closing fence (the block is `text.slice(blockStart, blockEnd)`). */
    blockEnd: number;
    /** Offset of the first character after the closing fence's line end. */
    bodyStart: number;
    /** Line ending the opening fence uses (`"\r\n"` or `"\n"`), for lines cmcs adds. */
    eol: "\n" | "\r\n";
  }
  /** The first non-blank line is not `---` (or the file is blank); `line` is that line. */
  | { kind: "none"; line: number }
  /** An opening `---` with no closing `---` line after it. */
  | { kind: "unclosed"; openLine: number };

const FENCE = /^---[ \t]*$/;
const BLANK = /^[ \t]*$/;

/**
 * Finds the front matter of a ticket whose BOM is already stripped. It opens at the first
 * non-blank line when that line is `---` (leading blank lines are tolerated, unlike the earlier
 * tool, so a stray empty line cannot hide `done: true`), and closes at the next line that is
 * exactly `---`; trailing spaces or tabs and CRLF line ends are allowed on both fences. `----` or
 * `--- x` is not a fence. A later `---` in the body is body text.
 */
export function splitFrontMatter(text: string): FrontMatterSplit {
  let offset = 0;
  let line = 1;
  let open: { line: number; blockStart: number; eol: "\n" | "\r\n" } | null = null;
  while (offset <= text.length) {
    const newline = text.indexOf("\n", offset);
    const end = newline === -1 ? text.length : newline;
    const next = newline === -1 ? text.length : newline + 1;
    const content = text.slice(offset, end).replace(/\r$/, "");
    if (open === null) {
      if (FENCE.test(content)) {
        const eol = text[end - 1] === "\r" ? "\r\n" : "\n";
        open = { line, blockStart: next, eol };
      } else if (!BLANK.test(content) || newline === -1) {
        return { kind: "none", line: BLANK.test(content) ? 1 : line };
      }
    } else if (FENCE.test(content)) {
      return {
        kind: "ok",
        openLine: open.line,
        closeLine: line,
        blockStart: open.blockStart,
        blockEnd: offset,
        bodyStart: next,
        eol: open.eol,
      };
    }
    if (newline === -1) break;
    offset = next;
    line++;
  }
  return open ? { kind: "unclosed", openLine: open.line } : { kind: "none", line: 1 };
}

/** Removes a leading UTF-8 byte order mark; reports whether there was one. */
export function stripBom(bytes: Uint8Array): { bytes: Uint8Array; bom: boolean } {
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return { bytes: bom ? bytes.subarray(3) : bytes, bom };
}

/**
 * Decodes strict UTF-8. On invalid input returns the 1-based line of the first bad byte, so the
 * problem can point at it (`TextDecoder` only says that decoding failed, not where).
 */
export function decodeUtf8(
  bytes: Uint8Array,
): { ok: true; text: string } | { ok: false; line: number; offset: number } {
  try {
    return { ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    const offset = _firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
    return { ok: false, line, offset };
  }
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function _firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let need = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (b <= 0x7f) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b === 0xe0) [need, lo] = [2, 0xa0];
    else if (b >= 0xe1 && b <= 0xec) need = 2;
    else if (b === 0xed) [need, hi] = [2, 0x9f];
    else if (b >= 0xee && b <= 0xef) need = 2;
    else if (b === 0xf0) [need, lo] = [3, 0x90];
    else if (b >= 0xf1 && b <= 0xf3) need = 3;
    else if (b === 0xf4) [need, hi] = [3, 0x8f];
    else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      const [min, max] = k === 1 ? [lo, hi] : [0x80, 0xbf];
      if (c === undefined || c < min || c > max) return i;
    }
    i += need + 1;
  }
  return bytes.length;
}
