/**
 * Nothing from outside cmcs reaches the reader's terminal as an escape sequence: a final message, a
 * ticket title or a changed file carrying OSC 52 (writes the clipboard), OSC 0 (retitles the
 * window) or CSI (moves the cursor, clears the screen) is shown without them by every command,
 * while `--json` keeps the exact text, escaped.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { escapeJsonControls, stripControl } from "../src/core/sanitize.ts";
import { directive } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";

// OSC 52 (clipboard), OSC 0 (window title), CSI 2J (clear screen), the one-byte C1 CSI, a
// bidi override.
const CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07";
const HOSTILE = `${CLIPBOARD}\x1b]0;owned\x1b\\\x1b[2J\x9b1A\u202e`;
/** The same, as a fake-codex directive spells it (a directive cannot hold `;`). */
const HOSTILE_DIRECTIVE = [...HOSTILE].map((c) =>
  c === ";" || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) >= 0x7f
    ? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`
    : c
).join("").replace("\\x202e", ""); // \xHH is one byte; the override goes in through the title

/** Fails when `text` holds anything a terminal would act on besides newline and tab. */
function assertInert(text: string, what: string): void {
  // deno-lint-ignore no-control-regex
  const found = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/.exec(text);
  assert.equal(
    found,
    null,
    `${what} carries U+${found?.[0].charCodeAt(0).toString(16).padStart(4, "0")}: ${
      JSON.stringify(text)
    }`,
  );
}

async function hostileProject(): Promise<TestProject> {
  const p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: `Greeting ${HOSTILE} done` },
    `Write the greeting.\n${directive("write", "hello.txt", `hi ${HOSTILE_DIRECTIVE} there`)}\n${
      directive("final-message", `Finished ${HOSTILE_DIRECTIVE} all`)
    }\n`,
  );
  return p;
}

Deno.test("escapes in a final message, a ticket title and a changed file never reach the output of run, result, status, diff or ticket validate", async () => {
  await using p = await hostileProject();
  const validate = await p.cmcs(["ticket", "validate"]);
  assert.equal(validate.code, 0, validate.stderr);
  assert.match(validate.stdout, /OK\s+Greeting \]?.*done/);

  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const result = await p.cmcs(["result", "."]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Finished .*all/, "the final message is still shown");
  const status = await p.cmcs(["status"]);
  const diff = await p.cmcs(["diff", "."]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /^\+hi .*there$/m, "the changed line is still shown");
  const stat = await p.cmcs(["diff", ".", "--stat"]);
  const logs = await p.cmcs(["logs", "."]);

  for (const [what, out] of Object.entries({ validate, run, result, status, diff, stat, logs })) {
    assertInert(out.stdout, `${what}'s stdout`);
    assertInert(out.stderr, `${what}'s stderr`);
  }
});

Deno.test("with colour forced on, only cmcs's own colour codes reach the terminal", async () => {
  await using p = await hostileProject();
  const run = await p.cmcs(["run"], { env: { NO_COLOR: "", FORCE_COLOR: "1" } });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  for (const args of [["result", "."], ["diff", "."], ["ticket", "validate"]]) {
    const out = await p.cmcs(args, { env: { NO_COLOR: "", FORCE_COLOR: "1" } });
    assert.equal(out.code, 0, out.stderr);
    // deno-lint-ignore no-control-regex
    const withoutColour = out.stdout.replace(/\x1b\[(?:0|1|3[1-6]|90)m/g, "");
    assert.notEqual(withoutColour, out.stdout, `${args[0]} is coloured`);
    assertInert(withoutColour, `${args.join(" ")}'s stdout`);
  }
});

Deno.test("result --json keeps the final message and the title exactly, with the escapes escaped", async () => {
  await using p = await hostileProject();
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const out = await p.cmcs(["result", ".", "--json"]);
  assert.equal(out.code, 0, out.stderr);
  assertInert(out.stdout.replace(/\n/g, ""), "result --json");
  const packet = JSON.parse(out.stdout);
  assert.equal(packet.title, `Greeting ${HOSTILE} done`);
  assert.ok(
    packet.final_message.includes(`Finished ${HOSTILE.replace("\u202e", "")} all`),
    JSON.stringify(packet.final_message),
  );
  const logged = await Deno.readTextFile(
    join(p.path, ".cmcs/logs", packet.attempts[0].log_dir, "last-message.md"),
  ).catch(() => null);
  if (logged !== null) assert.ok(logged.includes(CLIPBOARD), "the log keeps what Codex wrote");
});

Deno.test("the sanitiser removes OSC, CSI, C1 and bidi overrides but keeps text, tabs and newlines", () => {
  assert.equal(stripControl(`a${HOSTILE}b\tc\r\nd`), "ab\tc\nd");
  assert.equal(stripControl("\x9d0;title\x9cx"), "x", "the one-byte OSC and its terminator");
  const json = escapeJsonControls(JSON.stringify({ t: "\x9b2J\u202e\u2028" }));
  assertInert(json, "escaped JSON");
  assert.equal(JSON.parse(json).t, "\x9b2J\u202e\u2028");
});

Deno.test("commands print only through the output layer that removes escapes", async () => {
  const root = new URL("../src/", import.meta.url);
  const offenders: string[] = [];
  for (const dir of ["commands", "cli", "mcp"]) {
    for await (const entry of Deno.readDir(new URL(`${dir}/`, root))) {
      if (!entry.name.endsWith(".ts") || `${dir}/${entry.name}` === "cli/output.ts") continue;
      const text = await Deno.readTextFile(new URL(`${dir}/${entry.name}`, root));
      if (/console\.(log|error|warn|info)\(/.test(text)) offenders.push(`${dir}/${entry.name}`);
    }
  }
  assert.deepEqual(offenders, [], "use print/printError/printJson from src/cli/output.ts");
});
