import assert from "node:assert/strict";
import { join } from "node:path";
import { UserError } from "../src/cli/errors.ts";
import {
  compareTicketNames,
  discoverTickets,
  findTicket,
  nextTicketPath,
  parseTicket,
  previousProgress,
  renderTicketTemplate,
  resolveTicketsDir,
  setTicketDone,
  type Ticket,
  type TicketEntry,
  type TicketProblem,
} from "../src/core/tickets.ts";
import { tempDir } from "./helpers/repo.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const BOM = new Uint8Array([0xef, 0xbb, 0xbf]);

function parse(text: string | Uint8Array, file = "TICKET-001.md"): TicketEntry {
  return parseTicket(`/tickets/${file}`, typeof text === "string" ? encode(text) : text);
}

function ok(text: string | Uint8Array): Ticket {
  const entry = parse(text);
  if (!entry.ok) assert.fail(`expected OK, got ${JSON.stringify(entry.problems)}`);
  return entry.ticket;
}

function problems(text: string | Uint8Array): TicketProblem[] {
  const entry = parse(text);
  if (entry.ok) assert.fail(`expected problems, got ${JSON.stringify(entry.ticket.fields)}`);
  return entry.problems;
}

function onlyProblem(text: string | Uint8Array): { line: number | null; message: string } {
  const found = problems(text);
  assert.equal(found.length, 1, JSON.stringify(found));
  return { line: found[0].line, message: found[0].message };
}

async function writeTickets(dir: string, files: Record<string, string>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(join(dir, name), text);
  }
}

const ids = (entries: TicketEntry[]) => entries.map((e) => (e.ok ? e.ticket.id : e.id));

// --- ordering and discovery ---

Deno.test("compareTicketNames() orders numbers numerically, padded and unpadded mixed", () => {
  const names = [
    "TICKET-10.md",
    "TICKET-2.md",
    "TICKET-010a.md",
    "TICKET-001.md",
    "TICKET-9.md",
    "TICKET-011.md",
    "TICKET-100.md",
    "TICKET-2-fix.md",
    "TICKET-003.md",
  ];
  assert.deepEqual(names.sort(compareTicketNames), [
    "TICKET-001.md",
    "TICKET-2.md",
    "TICKET-2-fix.md",
    "TICKET-003.md",
    "TICKET-9.md",
    "TICKET-10.md",
    "TICKET-010a.md",
    "TICKET-011.md",
    "TICKET-100.md",
  ]);
});

Deno.test("compareTicketNames() gives a total order when numbers tie (TICKET-10 vs TICKET-010)", () => {
  assert.equal(compareTicketNames("TICKET-10.md", "TICKET-010.md"), 1);
  assert.equal(compareTicketNames("TICKET-010.md", "TICKET-10.md"), -1);
  assert.equal(compareTicketNames("TICKET-7.md", "TICKET-7.md"), 0);
});

Deno.test("discoverTickets() lists TICKET-*.md in natural order and ignores other files", async () => {
  await using dir = await tempDir();
  const ticket = (title: string) => `---\ntitle: ${title}\n---\n`;
  await writeTickets(dir.path, {
    "TICKET-10.md": ticket("ten"),
    "TICKET-2.md": ticket("two"),
    "TICKET-001.md": ticket("one"),
    "ticket-008.md": ticket("lower case"),
    "TICKET-3.txt": ticket("not markdown"),
    "notes.md": "notes",
  });
  await Deno.mkdir(join(dir.path, "sub"));
  await Deno.writeTextFile(join(dir.path, "sub", "TICKET-4.md"), ticket("nested"));
  const entries = await discoverTickets(dir.path);
  assert.deepEqual(ids(entries), ["TICKET-001", "TICKET-2", "TICKET-10"]);
  assert.deepEqual(entries.map((e) => e.ok && e.ticket.title), ["one", "two", "ten"]);
  assert.equal(entries[0].ok && entries[0].ticket.path, join(dir.path, "TICKET-001.md"));
});

Deno.test("discoverTickets() re-reads the directory on every call", async () => {
  await using dir = await tempDir();
  await writeTickets(dir.path, { "TICKET-1.md": "---\ndone: false\n---\n" });
  assert.equal((await discoverTickets(dir.path)).length, 1);
  await writeTickets(dir.path, {
    "TICKET-1.md": "---\ndone: true\n---\n",
    "TICKET-2.md": "---\n---\n",
  });
  const entries = await discoverTickets(dir.path);
  assert.deepEqual(ids(entries), ["TICKET-1", "TICKET-2"]);
  assert.equal(entries[0].ok && entries[0].ticket.done, true);
});

Deno.test("discoverTickets() returns no tickets for a missing directory", async () => {
  await using dir = await tempDir();
  assert.deepEqual(await discoverTickets(join(dir.path, "nope")), []);
});

Deno.test("discoverTickets() reports a directory named TICKET-x.md instead of crashing", async () => {
  await using dir = await tempDir();
  await writeTickets(dir.path, { "TICKET-1.md": "---\ntitle: a\n---\n" });
  await Deno.mkdir(join(dir.path, "TICKET-2.md"));
  const entries = await discoverTickets(dir.path);
  assert.equal(entries.length, 2);
  assert.equal(entries[0].ok, true);
  const second = entries[1];
  assert.ok(!second.ok);
  assert.equal(second.file, "TICKET-2.md");
  assert.equal(second.problems[0].line, null);
  assert.match(second.problems[0].message, /is a directory/);
});

Deno.test("discoverTickets() reports a ticket past 8 MiB without reading it, and a FIFO without blocking", async () => {
  await using dir = await tempDir();
  await writeTickets(dir.path, { "TICKET-1.md": "---\ntitle: a\n---\n" });
  const big = await Deno.open(join(dir.path, "TICKET-2.md"), { write: true, create: true });
  await big.truncate(9 * 1024 * 1024);
  big.close();
  new Deno.Command("mkfifo", { args: [join(dir.path, "TICKET-3.md")] }).outputSync();
  const entries = await discoverTickets(dir.path);
  assert.deepEqual(entries.map((e) => e.ok), [true, false, false]);
  const [, tooBig, fifo] = entries;
  assert.ok(!tooBig.ok && !fifo.ok);
  assert.equal(
    tooBig.problems[0].message,
    "is 9.0 MiB; a ticket may be at most 8 MiB: split it, or move the material it quotes into files it names",
  );
  assert.match(fifo.problems[0].message, /is not a regular file/);
});

Deno.test("discoverTickets() fails with a clear error when the tickets path is a file", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "tickets");
  await Deno.writeTextFile(path, "");
  await assert.rejects(discoverTickets(path), (error: Error) => {
    assert.ok(error instanceof UserError);
    assert.match(error.message, /is a file, not a directory/);
    return true;
  });
});

Deno.test("resolveTicketsDir() accepts paths inside the target and refuses the rest", () => {
  assert.equal(resolveTicketsDir("/repo", ".cmcs/tickets"), "/repo/.cmcs/tickets");
  assert.equal(resolveTicketsDir("/repo", "a/../tickets"), "/repo/tickets");
  assert.throws(() => resolveTicketsDir("/repo", "/etc/tickets"), UserError);
  assert.throws(() => resolveTicketsDir("/repo", "../other/tickets"), /outside the target/);
  assert.throws(() => resolveTicketsDir("/repo", ".."), /outside the target/);
  assert.equal(resolveTicketsDir("/repo", "..tickets"), "/repo/..tickets");
});

// --- tolerated encodings and layouts ---

Deno.test("parseTicket() reads done: true through a UTF-8 BOM", () => {
  const ticket = ok(
    new Uint8Array([...BOM, ...encode("---\ntitle: Bom\ndone: true\n---\nbody\n")]),
  );
  assert.equal(ticket.done, true);
  assert.equal(ticket.title, "Bom");
  assert.equal(ticket.raw.startsWith("---"), true);
});

Deno.test("parseTicket() reads CRLF tickets and keeps the body's line ends", () => {
  const ticket = ok("---\r\ntitle: Crlf\r\ndone: true\r\n---\r\n## Goal\r\nx\r\n");
  assert.equal(ticket.done, true);
  assert.equal(ticket.title, "Crlf");
  assert.equal(ticket.body, "## Goal\r\nx\r\n");
});

Deno.test("parseTicket() tolerates leading blank lines and a BOM with CRLF together", () => {
  assert.equal(ok("\n  \n---\ndone: true\n---\n").done, true);
  const both = new Uint8Array([...BOM, ...encode("\r\n---  \r\ndone: yes\r\n---\t\r\n")]);
  assert.equal(ok(both).done, true);
});

Deno.test("parseTicket() ends the front matter at the first --- line; later rules are body", () => {
  const ticket = ok("---\ntitle: a\n---\ntext\n---\nmore: 1\n");
  assert.equal(ticket.body, "text\n---\nmore: 1\n");
  assert.deepEqual(ticket.fields, { title: "a" });
});

Deno.test("parseTicket() gives defaults for an empty front matter and a missing done", () => {
  const ticket = ok("---\n---\nJust a body\n");
  assert.equal(ticket.title, "");
  assert.equal(ticket.agent, "codex");
  assert.equal(ticket.done, false);
  assert.equal(ticket.model, null);
  assert.equal(ticket.reasoning_effort, null);
  assert.equal(ticket.timeout_s, null);
  assert.equal(ticket.auto_commit, null);
  assert.deepEqual(ticket.fields, {});
  assert.equal(ticket.body, "Just a body\n");
});

Deno.test("parseTicket() treats title: null as a missing title, not the text None", () => {
  assert.equal(ok("---\ntitle: null\nagent: ~\n---\n").title, "");
  assert.equal(ok("---\ntitle:\nagent: ~\n---\n").agent, "codex");
});

Deno.test("parseTicket() reads every known field", () => {
  const ticket = ok(
    "---\ntitle: '  Add: a thing '\nagent: claude\nmodel: gpt-5.5\nreasoning_effort: High\n" +
      "done: false\ntimeout_s: 90.5\nauto_commit: false\n---\n",
  );
  assert.equal(ticket.title, "Add: a thing");
  assert.equal(ticket.agent, "claude");
  assert.equal(ticket.model, "gpt-5.5");
  assert.equal(ticket.reasoning_effort, "high");
  assert.equal(ticket.timeout_s, 90.5);
  assert.equal(ticket.auto_commit, false);
});

Deno.test("parseTicket() keeps unknown fields, with YAML 1.2 dates as text", () => {
  const ticket = ok(
    "---\ntitle: a\nnotes:\n  - ask about X\nowner: sam\ndue: 2026-01-02\n---\n",
  );
  assert.deepEqual(ticket.fields, {
    title: "a",
    notes: ["ask about X"],
    owner: "sam",
    due: "2026-01-02",
  });
});

Deno.test("parseTicket() accepts true/false/yes/no strings for done, any case, trimmed", () => {
  const cases: [string, boolean][] = [
    ["true", true],
    ["false", false],
    ["True", true],
    ["FALSE", false],
    ['"yes"', true],
    ["no", false],
    ["YES", true],
    ["' No '", false],
    ["'true'", true],
  ];
  for (const [value, expected] of cases) {
    assert.equal(ok(`---\ndone: ${value}\n---\n`).done, expected, `done: ${value}`);
  }
});

// --- malformed tickets: each with its line and message ---

Deno.test("parseTicket() reports a file without front matter on its first line", () => {
  const found = onlyProblem("# Just markdown\n\ndone: true\n");
  assert.equal(found.line, 1);
  assert.match(found.message, /no front matter: the file must start with a `---` line/);
  assert.equal(onlyProblem("").line, 1);
  assert.equal(onlyProblem("\n\n# Title\n").line, 3);
  assert.match(onlyProblem("----\ntitle: x\n----\n").message, /no front matter/);
});

Deno.test("parseTicket() reports an unclosed front matter at its opening line", () => {
  const found = onlyProblem("\n---\ntitle: a\ndone: true\n");
  assert.equal(found.line, 2);
  assert.match(found.message, /never closed: add a line `---`/);
});

Deno.test("parseTicket() reports a YAML syntax error at the file line of the error", () => {
  const found = problems("---\ntitle: a\ntags: [one\ndone: true\n---\n");
  assert.equal(found[0].line, 4);
  assert.match(found[0].message, /^invalid YAML in the front matter: /);
  const duplicate = onlyProblem("---\ndone: false\ntitle: a\ndone: true\n---\n");
  assert.equal(duplicate.line, 4);
  assert.match(duplicate.message, /keys must be unique/);
  const crlf = problems("\r\n---\r\ntitle: a: b\r\n---\r\n");
  assert.equal(crlf[0].line, 3);
  const atEnd = problems("---\nx: 1\ntitle: [a\n---\n");
  assert.equal(atEnd[0].line, 3, "an error at the end of the block points at its last line");
});

Deno.test("parseTicket() reports a front matter that is a list or a single value", () => {
  const list = onlyProblem("---\n- title: a\n- done: true\n---\n");
  assert.equal(list.line, 2);
  assert.match(list.message, /must be `key: value` fields \(a mapping\), found a list/);
  const scalar = onlyProblem("---\n\njust text\n---\n");
  assert.equal(scalar.line, 3);
  assert.match(scalar.message, /found a single value/);
});

Deno.test("parseTicket() reports each wrong-typed field on the line of its key", () => {
  const cases: [string, RegExp][] = [
    ["title: 42", /^title must be text, got a number \(42\): quote it/],
    ["title: [a, b]", /^title must be text, got a list/],
    ["agent: [codex]", /^agent must be text such as codex, got a list/],
    ["agent: ''", /^agent is empty/],
    ["model: 5", /^model must be text, got a number \(5\)/],
    ["model: ''", /^model is empty: name a model or remove the line/],
    [
      "reasoning_effort: extreme",
      /^reasoning_effort must be one of low, medium, high, xhigh, got "extreme"/,
    ],
    ["reasoning_effort: 3", /^reasoning_effort must be one of .*got a number \(3\)/],
    ["done: on", /^done must be true or false \(yes\/no are accepted too\), got "on"/],
    ["done: 1", /^done must be true or false .*got a number \(1\)/],
    ["done: maybe", /^done must be true or false .*got "maybe"/],
    ["done: [x]", /^done must be true or false .*got a list/],
    ["timeout_s: 0", /^timeout_s must be a positive number of seconds, got a number \(0\)/],
    ["timeout_s: -5", /^timeout_s must be a positive number/],
    ["timeout_s: '30'", /^timeout_s must be a positive number of seconds, got "30"/],
    ["timeout_s: .inf", /^timeout_s must be a positive number/],
    ["auto_commit: 'false'", /^auto_commit must be true or false without quotes, got "false"/],
    ["auto_commit: no", /^auto_commit must be true or false/],
  ];
  for (const [line, message] of cases) {
    const found = onlyProblem(`---\n# comment\n\n${line}\nnotes: kept\n---\n`);
    assert.equal(found.line, 4, line);
    assert.match(found.message, message, line);
  }
});

Deno.test("parseTicket() reports several problems of one ticket in line order", () => {
  const found = problems("---\ndone: on\ntitle: 1\nmodel: 2\n---\n");
  assert.deepEqual(found.map((p) => p.line), [2, 3, 4]);
  assert.ok(found.every((p) => p.file === "TICKET-001.md" && p.path === "/tickets/TICKET-001.md"));
});

Deno.test("parseTicket() reports invalid UTF-8 with the line of the bad byte", () => {
  const bytes = new Uint8Array([
    ...encode("---\ntitle: caf"),
    0xe9,
    ...encode("\ndone: true\n---\n"),
  ]);
  const found = onlyProblem(bytes);
  assert.equal(found.line, 2);
  assert.match(found.message, /invalid UTF-8 at byte offset 14: save the file as UTF-8/);
  const entry = parse(bytes);
  assert.ok(!entry.ok && entry.raw?.includes("done: true"));
});

Deno.test("parseTicket() accepts valid multi-byte UTF-8 and rejects overlong encodings", () => {
  assert.equal(ok("---\ntitle: Café ✓ 🚀\n---\n").title, "Café ✓ 🚀");
  const overlong = new Uint8Array([...encode("---\n---\n\n"), 0xc0, 0xaf]);
  assert.equal(onlyProblem(overlong).line, 4);
});

// --- previous progress ---

Deno.test("previousProgress() returns the predecessor's ## Progress section to the end", async () => {
  await using dir = await tempDir();
  await writeTickets(dir.path, {
    "TICKET-1.md": "---\ndone: true\n---\n## Task\nx\n### Progress\nnot this\n" +
      "## Progress\n\n- did a thing\n\n## Notes\nkept\n\n",
    "TICKET-2.md": "---\ntitle: two\n---\n## Progressive ideas\n",
    "TICKET-10.md": "---\ntitle: ten\n---\n",
  });
  const entries = await discoverTickets(dir.path);
  assert.equal(previousProgress(entries, 0), null);
  assert.equal(
    previousProgress(entries, 1),
    "## Progress\n\n- did a thing\n\n## Notes\nkept",
  );
  assert.equal(previousProgress(entries, 2), null, "## Progressive is not a Progress section");
});

Deno.test("previousProgress() reads a malformed predecessor's raw text", () => {
  const entries = [
    parse("---\ndone: on\n---\n## Progress\nhalf done\n", "TICKET-1.md"),
    parse("---\ntitle: b\n---\n", "TICKET-2.md"),
  ];
  assert.equal(entries[0].ok, false);
  assert.equal(previousProgress(entries, 1), "## Progress\nhalf done");
});

// --- setTicketDone ---

async function editFile(text: string | Uint8Array, done: boolean): Promise<string> {
  await using dir = await tempDir();
  const path = join(dir.path, "TICKET-001.md");
  await Deno.writeFile(path, typeof text === "string" ? encode(text) : text);
  await setTicketDone(path, done);
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(await Deno.readFile(path));
}

Deno.test("setTicketDone() changes only the done value, keeping comments, order and body", async () => {
  const before =
    '---\n# who asked: sam\ntitle: "Fix: it"   # quoted\ndone: false # set by worker\n' +
    "notes: |\n  keep   this\n---\n## Task\n\ndone: false\n---\n";
  const after = await editFile(before, true);
  assert.equal(after, before.replace("done: false # set by worker", "done: true # set by worker"));
  assert.equal(ok(after).done, true);
});

Deno.test("setTicketDone() round-trips a CRLF file with a BOM byte-for-byte", async () => {
  const text = "---\r\ntitle: a\r\ndone: no\r\nx: 1\r\n---\r\nbody\r\n";
  const bytes = new Uint8Array([...BOM, ...encode(text)]);
  const done = await editFile(bytes, true);
  assert.equal(done, "\ufeff" + text.replace("done: no", "done: true"));
  const back = await editFile(encode(done), false);
  assert.equal(back, "\ufeff" + text.replace("done: no", "done: false"));
});

Deno.test("setTicketDone() adds done when missing, with the file's line ending", async () => {
  assert.equal(
    await editFile("---\ntitle: a # c\n---\nbody\n", true),
    "---\ntitle: a # c\ndone: true\n---\nbody\n",
  );
  assert.equal(
    await editFile("---\r\ntitle: a\r\n---\r\n", true),
    "---\r\ntitle: a\r\ndone: true\r\n---\r\n",
  );
  assert.equal(await editFile("---\n---\nbody", true), "---\ndone: true\n---\nbody");
});

Deno.test("setTicketDone() fills an empty or quoted done value in place", async () => {
  assert.equal(
    await editFile("---\ndone:\ntitle: a\n---\n", true),
    "---\ndone: true\ntitle: a\n---\n",
  );
  assert.equal(
    await editFile("---\ndone: # todo\n---\n", true),
    "---\ndone: true # todo\n---\n",
  );
  assert.equal(await editFile('---\ndone: "yes"\n---\n', false), "---\ndone: false\n---\n");
});

Deno.test("setTicketDone() rewrites a flow mapping front matter so done reads back", async () => {
  const after = await editFile("---\n{title: a}\n---\nbody\n", true);
  assert.equal(ok(after).done, true);
  assert.equal(ok(after).title, "a");
  assert.ok(after.endsWith("---\nbody\n"));
});

Deno.test("setTicketDone() leaves a file that already has the value untouched", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "TICKET-001.md");
  await Deno.writeTextFile(path, "---\ndone: true\n---\n");
  const before = (await Deno.stat(path)).mtime;
  await setTicketDone(path, true);
  assert.deepEqual((await Deno.stat(path)).mtime, before);
});

Deno.test("setTicketDone() refuses a malformed front matter, naming the file, and changes nothing", async () => {
  await using dir = await tempDir();
  const cases = [
    "no front matter\n",
    "---\ntitle: a\n",
    "---\ntitle: [a\n---\n",
    "---\n- a\n---\n",
  ];
  for (const text of cases) {
    const path = join(dir.path, "TICKET-007.md");
    await Deno.writeTextFile(path, text);
    await assert.rejects(setTicketDone(path, true), (error: Error) => {
      assert.ok(error instanceof UserError, String(error));
      assert.match(error.message, /^cannot set done in TICKET-007\.md: /);
      return true;
    });
    assert.equal(await Deno.readTextFile(path), text);
  }
});

// --- numbering, template, lookup ---

Deno.test("nextTicketPath() numbers after the highest ticket, padded to 3 digits", async () => {
  await using dir = await tempDir();
  assert.deepEqual(await nextTicketPath(join(dir.path, "missing")), {
    path: join(dir.path, "missing", "TICKET-001.md"),
    number: 1,
    skipped: [],
  });
  await writeTickets(dir.path, { "TICKET-002.md": "", "TICKET-9.md": "", "notes.md": "" });
  assert.deepEqual(await nextTicketPath(dir.path), {
    path: join(dir.path, "TICKET-010.md"),
    number: 10,
    skipped: [],
  });
  await writeTickets(dir.path, { "TICKET-010-fix.md": "" });
  assert.equal((await nextTicketPath(dir.path)).path, join(dir.path, "TICKET-011.md"));
});

Deno.test("nextTicketPath() keeps the width existing tickets use", async () => {
  await using dir = await tempDir();
  await writeTickets(dir.path, { "TICKET-0001.md": "", "TICKET-0007.md": "" });
  assert.equal((await nextTicketPath(dir.path)).path, join(dir.path, "TICKET-0008.md"));
});

Deno.test("nextTicketPath() passes over the numbers the other directories use above its own", async () => {
  await using dir = await tempDir();
  const here = join(dir.path, "here");
  const other = join(dir.path, "other");
  await writeTickets(here, { "TICKET-0003.md": "" });
  await writeTickets(other, {
    "TICKET-0001.md": "",
    "TICKET-4.md": "",
    "TICKET-005-fix.md": "",
    "TICKET-7.md": "",
  });
  assert.deepEqual(await nextTicketPath(here, [other, join(dir.path, "missing")]), {
    path: join(here, "TICKET-0006.md"),
    number: 6,
    skipped: [join(other, "TICKET-4.md"), join(other, "TICKET-005-fix.md")],
  });
});

Deno.test("renderTicketTemplate() writes a valid ticket that reads back its values", () => {
  const text = renderTicketTemplate({
    title: 'Fix: "yes" # 2\nnow',
    model: "gpt-5.5",
    effort: "high",
  });
  const ticket = ok(text);
  assert.equal(ticket.title, 'Fix: "yes" # 2 now');
  assert.equal(ticket.agent, "codex");
  assert.equal(ticket.model, "gpt-5.5");
  assert.equal(ticket.reasoning_effort, "high");
  assert.equal(ticket.done, false);
  assert.match(ticket.body, /## Goal\n[\s\S]*## Task\n[\s\S]*## Acceptance Criteria\n/);
  const plain = ok(renderTicketTemplate({ title: "true" }));
  assert.equal(plain.title, "true");
  assert.deepEqual(Object.keys(plain.fields), ["title", "agent", "done"]);
});

Deno.test("findTicket() finds a ticket by id, file name or number", () => {
  const entries = [
    parse("---\n---\n", "TICKET-001.md"),
    parse("---\n---\n", "TICKET-2.md"),
    parse("---\ndone: on\n---\n", "TICKET-010.md"),
    parse("---\n---\n", "TICKET-010-fix.md"),
  ];
  const id = (ref: string) => {
    const entry = findTicket(entries, ref);
    return entry && (entry.ok ? entry.ticket.id : entry.id);
  };
  assert.equal(id("TICKET-001"), "TICKET-001");
  assert.equal(id("TICKET-001.md"), "TICKET-001");
  assert.equal(id("1"), "TICKET-001");
  assert.equal(id("002"), "TICKET-2");
  assert.equal(id("TICKET-010"), "TICKET-010");
  assert.throws(() => id("10"), /"10" names several tickets: TICKET-010, TICKET-010-fix/);
  assert.equal(id("ticket-010-fix"), "TICKET-010-fix");
  assert.equal(id("3"), undefined);
  assert.equal(id("TICKET-3"), undefined);
});
