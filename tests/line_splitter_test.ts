/**
 * The reader of the worker's stdout: lines come out whole however the bytes were chunked, and a
 * line over the limit is dropped and counted instead of being held in memory.
 */
import assert from "node:assert/strict";
import { LineSplitter } from "../src/core/line_splitter.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function split(
  maxBytes: number,
  chunks: Uint8Array[],
): { lines: string[]; splitter: LineSplitter } {
  const lines: string[] = [];
  const splitter = new LineSplitter(maxBytes, (line) => lines.push(line));
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return { lines, splitter };
}

/** `data` cut into pieces of `size` bytes. */
function chunked(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

Deno.test("lines split across chunks come out whole, once each, CRLF and a last unterminated line included", () => {
  const text = '{"type":"a"}\r\n{"type":"b"}\n\n{"type":"c"}';
  for (const size of [1, 2, 3, 5, 7, 100]) {
    const { lines, splitter } = split(1024, chunked(bytes(text), size));
    assert.deepEqual(
      lines,
      ['{"type":"a"}', '{"type":"b"}', "", '{"type":"c"}'],
      `chunks of ${size}`,
    );
    assert.equal(splitter.cut.lines, 0);
  }
});

Deno.test("a character split between two chunks is decoded whole", () => {
  const text = "héllo → wörld 🎉\nnext\n";
  for (const size of [1, 2, 3]) {
    assert.deepEqual(split(1024, chunked(bytes(text), size)).lines, ["héllo → wörld 🎉", "next"]);
  }
});

Deno.test("a line longer than the limit is cut and counted, and the lines around it come through", () => {
  const long = "y".repeat(100);
  const text = `before\n${long}\nafter\n${"z".repeat(40)}\nexactly-16-bytes\n`;
  for (const size of [1, 7, 64, 1000]) {
    const { lines, splitter } = split(16, chunked(bytes(text), size));
    assert.deepEqual(lines, ["before", "after", "exactly-16-bytes"], `chunks of ${size}`);
    assert.deepEqual(splitter.cut, { lines: 2, longestBytes: 100 });
  }
});

Deno.test("an overlong last line without a newline is counted as cut at the end of the stream", () => {
  const { lines, splitter } = split(4, [bytes("ok\ntoo long")]);
  assert.deepEqual(lines, ["ok"]);
  assert.deepEqual(splitter.cut, { lines: 1, longestBytes: 8 });
});

Deno.test("a chunk reused by the stream after it was pushed does not change the line", () => {
  const lines: string[] = [];
  const splitter = new LineSplitter(1024, (line) => lines.push(line));
  const buffer = bytes("abc");
  splitter.push(buffer);
  buffer.set(bytes("XYZ"));
  splitter.push(bytes("\n"));
  assert.deepEqual(lines, ["abc"]);
});
