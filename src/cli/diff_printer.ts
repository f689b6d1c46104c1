/**
 * `cmcs diff` prints git's diff through this sink rather than letting git write to the terminal: a
 * changed file may contain escape sequences (a worker can write anything), and git prints content
 * lines as they are. Git runs with `--no-color`; each line is cleaned by the one output path
 * ({@link print}) and, with colour on, coloured here the way git does by default (headers bold,
 * hunk lines cyan, removed red, added green; `--stat` bars red and green), so the only escapes that
 * reach the terminal are cmcs's own.
 *
 * The bytes are decoded as UTF-8: a file in another encoding shows replacement characters. That
 * is for reading; `git diff` itself gives an exact patch.
 */
import { type Color, paint, print } from "./output.ts";

/** A stream that prints git diff output line by line, cleaned and (with colour on) coloured. */
export function diffPrinter(): WritableStream<Uint8Array> {
  const decoder = new TextDecoder();
  const state = { pending: "", inHeader: false };
  const flushLines = (final: boolean) => {
    const lines = state.pending.split("\n");
    state.pending = final ? "" : lines.pop()!;
    if (final && lines.at(-1) === "") lines.pop();
    // One write per chunk, not per line: a diff can have many thousands of lines.
    if (lines.length > 0) print(lines.map((line) => colorLine(line, state)).join("\n"));
  };
  return new WritableStream({
    write(chunk) {
      state.pending += decoder.decode(chunk, { stream: true });
      flushLines(false);
    },
    close() {
      state.pending += decoder.decode();
      flushLines(true);
    },
  });
}

const HEADER_START = /^diff --(?:git|cc) /;
const STAT_LINE = /^( .* \| +(?:\d+ |Bin ))(\+*)(-*)$/;

function colorLine(line: string, state: { inHeader: boolean }): string {
  if (HEADER_START.test(line)) state.inHeader = true;
  else if (line.startsWith("@@")) state.inHeader = false;
  const stat = STAT_LINE.exec(line);
  if (stat) return stat[1] + bar("green", stat[2]) + bar("red", stat[3]);
  const color = lineColor(line, state.inHeader);
  return color && line !== "" ? paint(color, line) : line;
}

function bar(color: Color, text: string): string {
  return text === "" ? "" : paint(color, text);
}

function lineColor(line: string, inHeader: boolean): Color | null {
  if (inHeader) return "bold";
  if (line.startsWith("@@")) return "cyan";
  if (line.startsWith("+")) return "green";
  if (line.startsWith("-")) return "red";
  return null;
}
