/**
 * Changing a ticket's `done:` in place. The ticket is a file people and workers edit by hand, so
 * the edit touches only the value's characters: comments, field order, quoting of other fields,
 * line ends, a BOM and the body stay byte-for-byte as they were.
 */
import { basename } from "./path.ts";
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { UserError } from "./errors.ts";
import { decodeUtf8, splitFrontMatter, stripBom } from "./ticket_front_matter.ts";

/**
 * Sets `done:` to `true` or `false` in the ticket at `path`. An existing value (`done: no`,
 * `done: "yes"`, an empty `done:`) is replaced where it stands, keeping a trailing comment; a
 * missing `done` gets a `done: …` line appended at the end of the front matter, with the file's
 * line ending and the fields' indentation. A ticket without a readable front matter (none,
 * unclosed, invalid YAML, not a mapping, invalid UTF-8) is a {@link UserError} naming the file; it
 * is left untouched. Writing the value it already has does not rewrite the file.
 */
export async function setTicketDone(path: string, done: boolean): Promise<void> {
  const file = basename(path);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new UserError(`cannot read ticket ${path}: ${(error as Error).message}`);
  }
  const malformed = (why: string) =>
    new UserError(`cannot set done in ${file}: ${why}`, {
      hint: `fix the front matter of ${path} (\`cmcs ticket validate\` shows the problem)`,
    });

  const { bytes: content, bom } = stripBom(bytes);
  const decoded = decodeUtf8(content);
  if (!decoded.ok) throw malformed(`invalid UTF-8 on line ${decoded.line}`);
  const text = decoded.text;
  const split = splitFrontMatter(text);
  if (split.kind === "none") throw malformed("the file has no `---` front matter");
  if (split.kind === "unclosed") {
    throw malformed(`the front matter opened on line ${split.openLine} is never closed`);
  }

  const block = text.slice(split.blockStart, split.blockEnd);
  const lineCounter = new LineCounter();
  const doc = parseDocument(block, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const line = split.openLine + (doc.errors[0].linePos?.[0]?.line ?? 1);
    throw malformed(`invalid YAML on line ${line}`);
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw malformed("the front matter is not `key: value` fields");
  }

  const literal = done ? "true" : "false";
  const map = doc.contents;
  const pair = map?.items.find((item) => isScalar(item.key) && item.key.value === "done");
  let newBlock: string;
  const value = pair?.value;
  // A tagged value (`done: !!str true`) is left to the re-serialising branch: replacing only its
  // characters would keep the tag, and `!!str false` is not false.
  if (
    isScalar(value) && value.range && value.type !== "BLOCK_LITERAL" &&
    value.type !== "BLOCK_FOLDED" && !value.tag
  ) {
    const [start, end] = value.range;
    const before = block[start - 1];
    const after = block[start === end ? start : end];
    const lead = start === end && before !== undefined && !/\s/.test(before) ? " " : "";
    const trail = start === end && after !== undefined && !/\s/.test(after) ? " " : "";
    newBlock = block.slice(0, start) + lead + literal + trail + block.slice(end);
  } else if (!pair && (!map || !map.flow)) {
    const firstKey = map?.items[0]?.key;
    const indent = isScalar(firstKey) && firstKey.range
      ? " ".repeat(lineCounter.linePos(firstKey.range[0]).col - 1)
      : "";
    const separator = block === "" || block.endsWith("\n") ? "" : split.eol;
    newBlock = `${block}${separator}${indent}done: ${literal}${split.eol}`;
  } else {
    // A flow mapping (`{title: x}`), or a `done` holding a block scalar, a tagged value, an alias,
    // a list or a mapping: no single span of characters to replace, so the block is re-serialised (comments
    // inside it may move).
    // A new node, not `doc.set`: that would keep a scalar's tag and change only its value.
    if (pair) (pair as { value: unknown }).value = doc.createNode(done);
    else doc.set("done", done);
    newBlock = doc.toString({ lineWidth: 0 }).replaceAll(/\r?\n/g, split.eol);
  }

  const check = parseDocument(newBlock).toJS() as Record<string, unknown> | null;
  if (check?.done !== done) {
    throw malformed(
      `rewriting it gave done: ${JSON.stringify(check?.done)}; the file is unchanged`,
    );
  }
  if (newBlock === block) return;
  const newText = text.slice(0, split.blockStart) + newBlock + text.slice(split.blockEnd);
  const encoded = new TextEncoder().encode(newText);
  const out = bom ? new Uint8Array([0xef, 0xbb, 0xbf, ...encoded]) : encoded;
  await Deno.writeFile(path, out);
}
