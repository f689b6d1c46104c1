import assert from "node:assert/strict";
import { CodexStream } from "../src/core/codex_events.ts";
import {
  createJsonlRenderer,
  displayCommand,
  formatCount,
  renderEvent,
  renderJsonl,
  stripControl,
} from "../src/core/codex_render.ts";

/** The real `codex exec --json` output of a successful run (Codex CLI 0.169.0, exec-json-sample.jsonl). */
const SAMPLE = [
  '{"type":"thread.started","thread_id":"01a20aea-352e-7ee2-a6b1-9666c2f90f6c"}',
  '{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `mock-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues."}}',
  '{"type":"turn.started"}',
  '{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"I will mark the ticket as done."}}',
  '{"type":"item.started","item":{"id":"item_2","type":"command_execution","command":"/bin/bash -c \\"f=\'TICKET-1.md\'; if [ -f \\\\\\"\\"\'$f\\" ]; then sed -i -E \'\\"\'s/\\"\'^([[:space:]]*)done:[[:space:]]*false/\'\\"\\\\\\\\1done: true/\' \\\\\\"\\"\'$f\\" && grep -n \'\\"\'done:\' \\\\\\"\\"\'$f\\"; else echo \\"ticket not found: $f\\" >&2; exit 3; fi\'","aggregated_output":"","exit_code":null,"status":"in_progress"}}',
  '{"type":"item.completed","item":{"id":"item_2","type":"command_execution","command":"/bin/bash -c \\"f=\'TICKET-1.md\'; if [ -f \\\\\\"\\"\'$f\\" ]; then sed -i -E \'\\"\'s/\\"\'^([[:space:]]*)done:[[:space:]]*false/\'\\"\\\\\\\\1done: true/\' \\\\\\"\\"\'$f\\" && grep -n \'\\"\'done:\' \\\\\\"\\"\'$f\\"; else echo \\"ticket not found: $f\\" >&2; exit 3; fi\'","aggregated_output":"4:done: true\\n","exit_code":0,"status":"completed"}}',
  '{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"Marked TICKET-1.md as done."}}',
  '{"type":"turn.completed","usage":{"input_tokens":10544,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":74,"reasoning_output_tokens":0}}',
].join("\n") + "\n";

const CONTEXT_MESSAGE =
  "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.";

function feed(lines: (string | object)[]): CodexStream {
  const stream = new CodexStream();
  for (const line of lines) stream.push(typeof line === "string" ? line : JSON.stringify(line));
  return stream;
}

function item(type: string, id: string, fields: Record<string, unknown> = {}) {
  return { type, item: { id, ...fields } };
}

Deno.test("CodexStream reads thread id, usage, final message and warnings from a real run", () => {
  const stream = feed(SAMPLE.split("\n"));
  assert.equal(stream.threadId, "01a20aea-352e-7ee2-a6b1-9666c2f90f6c");
  assert.deepEqual(stream.usage, {
    input_tokens: 10544,
    cached_input_tokens: 0,
    output_tokens: 74,
    reasoning_output_tokens: 0,
  });
  assert.equal(stream.finalMessage, "Marked TICKET-1.md as done.");
  assert.equal(stream.turnCompleted, true);
  assert.equal(stream.turnFailed, false);
  assert.equal(stream.failureMessage, null);
  assert.deepEqual(stream.warnings, [
    "Model metadata for `mock-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.",
  ]);
  assert.equal(stream.lines, 8);
  assert.equal(stream.badLines, 0);
  assert.deepEqual(stream.openCommands(), []);
});

Deno.test("CodexStream takes the failure text from turn.failed, not from warning items", () => {
  const stream = feed([
    { type: "thread.started", thread_id: "t1" },
    item("item.completed", "item_0", { type: "error", message: "Model metadata not found" }),
    { type: "turn.started" },
    { type: "error", message: "earlier error" },
    { type: "turn.failed", error: { message: CONTEXT_MESSAGE } },
  ]);
  assert.equal(stream.turnFailed, true);
  assert.equal(stream.turnCompleted, false);
  assert.equal(stream.failureMessage, CONTEXT_MESSAGE);
  assert.deepEqual(stream.warnings, ["Model metadata not found"]);
  assert.equal(stream.usage, null);
});

Deno.test("CodexStream falls back to the last top-level error when turn.failed has no message", () => {
  const stream = feed([
    { type: "error", message: "first" },
    { type: "error", message: "Quota exceeded. Check your plan and billing details." },
    { type: "turn.failed", error: {} },
  ]);
  assert.equal(stream.failureMessage, "Quota exceeded. Check your plan and billing details.");
  assert.equal(stream.turnFailed, true);
});

Deno.test("CodexStream counts bad lines and never throws on them", () => {
  const stream = new CodexStream();
  const bad = ["not json", '{"type":"turn.started"', "[1,2]", "42", "null", '{"no":"type"}'];
  for (const line of bad) assert.equal(stream.push(line), null);
  assert.equal(stream.push("   "), null);
  assert.equal(stream.lines, bad.length);
  assert.equal(stream.badLines, bad.length);
  assert.deepEqual(stream.push('{"type":"turn.started"}\r'), { type: "turn.started" });
  assert.equal(stream.lines, bad.length + 1);
  assert.equal(stream.badLines, bad.length);
});

Deno.test("CodexStream sums the usage of several turns (a resumed thread)", () => {
  const usage = (input: number, cached: number, out: number, reasoning: number) => ({
    type: "turn.completed",
    usage: {
      input_tokens: input,
      cached_input_tokens: cached,
      cache_write_input_tokens: 5,
      output_tokens: out,
      reasoning_output_tokens: reasoning,
    },
  });
  const stream = feed([
    usage(1000, 400, 50, 20),
    { type: "turn.started" },
    usage(2000, 1500, 10, 0),
  ]);
  assert.deepEqual(stream.usage, {
    input_tokens: 3000,
    cached_input_tokens: 1900,
    output_tokens: 60,
    reasoning_output_tokens: 20,
  });
  assert.equal(stream.turnCompleted, true);
});

Deno.test("CodexStream returns unknown events for rendering without changing its state", () => {
  const stream = new CodexStream();
  const unknown = {
    type: "session.configured",
    thread_id: "not-this-one",
    usage: { input_tokens: 9 },
  };
  assert.deepEqual(stream.push(JSON.stringify(unknown)), unknown);
  const odd = item("item.completed", "item_9", { type: "image_view", text: "not a message" });
  assert.deepEqual(stream.push(JSON.stringify(odd)), odd);
  assert.equal(stream.threadId, null);
  assert.equal(stream.usage, null);
  assert.equal(stream.finalMessage, null);
  assert.equal(stream.badLines, 0);
});

Deno.test("CodexStream keeps the last agent message as the final one, ignoring reasoning", () => {
  const stream = feed([
    item("item.completed", "item_0", { type: "agent_message", text: "first" }),
    item("item.completed", "item_1", { type: "agent_message", text: "the answer\nin two lines" }),
    item("item.completed", "item_2", { type: "reasoning", text: "thinking afterwards" }),
  ]);
  assert.equal(stream.finalMessage, "the answer\nin two lines");
});

Deno.test("openCommands() lists the commands still running when the stream stopped", () => {
  const command = (event: string, id: string, status: string) =>
    item(event, id, {
      type: "command_execution",
      command: "/bin/bash -lc 'sleep 300'",
      aggregated_output: "",
      exit_code: status === "in_progress" ? null : 0,
      status,
    });
  const stream = feed([
    command("item.started", "item_1", "in_progress"),
    command("item.completed", "item_1", "completed"),
    command("item.started", "item_2", "in_progress"),
    item("item.started", "item_3", { type: "file_change", changes: [], status: "in_progress" }),
  ]);
  assert.deepEqual(stream.openCommands().map((c) => c.id), ["item_2"]);
  assert.equal(stream.turnCompleted, false);
  assert.equal(stream.turnFailed, false);
});

Deno.test("renderJsonl() renders a real run as readable lines", () => {
  assert.deepEqual(renderJsonl(SAMPLE), [
    "thread 01a20aea-352e-7ee2-a6b1-9666c2f90f6c",
    "warning: Model metadata for `mock-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.",
    "codex: I will mark the ticket as done.",
    `$ f='TICKET-1.md'; if [ -f "$f" ]; then sed -i -E 's/^([[:space:]]*)done:[[:space:]]*false/\\1done: true/' "$f" && grep -n 'done:' "$f"; else echo "ticket not found: $f" >&2; exit 3; fi`,
    "  exit 0 (1 line of output)",
    "    4:done: true",
    "codex: Marked TICKET-1.md as done.",
    "turn completed: 10.5k in (0 cached), 74 out",
  ]);
  assert.deepEqual(renderJsonl(SAMPLE, { maxLines: 2 }), [
    "codex: Marked TICKET-1.md as done.",
    "turn completed: 10.5k in (0 cached), 74 out",
  ]);
});

Deno.test("renderJsonl() shows file changes, failed commands and a failed turn once each", () => {
  const text = [
    item("item.completed", "item_0", { type: "reasoning", text: "The ticket needs\ndone: true." }),
    item("item.started", "item_1", {
      type: "file_change",
      changes: [{ path: "/w/TICKET-7.md", kind: "update" }],
      status: "in_progress",
    }),
    item("item.completed", "item_1", {
      type: "file_change",
      changes: [{ path: "/w/TICKET-7.md", kind: "update" }, { path: "/w/new.ts", kind: "add" }, {
        path: "/w/old.ts",
        kind: "delete",
      }],
      status: "completed",
    }),
    item("item.completed", "item_2", {
      type: "command_execution",
      command: "/bin/bash -c 'echo oops >&2; exit 7'",
      aggregated_output: "oops\n",
      exit_code: 7,
      status: "failed",
    }),
    { type: "error", message: CONTEXT_MESSAGE },
    { type: "turn.failed", error: { message: CONTEXT_MESSAGE } },
  ].map((line) => JSON.stringify(line)).join("\n");
  assert.deepEqual(renderJsonl(text), [
    "thinking: The ticket needs done: true.",
    "edited /w/TICKET-7.md",
    "added /w/new.ts",
    "deleted /w/old.ts",
    "$ echo oops >&2; exit 7",
    "  exit 7 (1 line of output)",
    "    oops",
    `error: ${CONTEXT_MESSAGE}`,
    "turn failed",
  ]);
});

Deno.test("createJsonlRenderer() fed in chunks renders the same lines as renderJsonl() of the whole", () => {
  const lines = SAMPLE.split("\n");
  const render = createJsonlRenderer();
  // A follower's reads: the command starts in one chunk and completes in the next.
  const chunks = [lines.slice(0, 5), lines.slice(5)].map((chunk) => render(chunk.join("\n")));
  assert.deepEqual(chunks.flat(), renderJsonl(SAMPLE));
  assert.equal(chunks[1].filter((line) => line.startsWith("$ ")).length, 0, "no second $ line");
});

Deno.test("renderEvent() shows the last output lines of a long command and keeps multi-line messages", () => {
  const output = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
  const lines = renderEvent(item("item.completed", "item_4", {
    type: "command_execution",
    command: "/bin/bash -lc 'seq 12'",
    aggregated_output: output,
    exit_code: 0,
    status: "completed",
  }));
  assert.deepEqual(lines, [
    "  exit 0 (12 lines of output)",
    "    …",
    "    line 8",
    "    line 9",
    "    line 10",
    "    line 11",
    "    line 12",
  ]);
  assert.deepEqual(
    renderEvent(item("item.completed", "item_5", {
      type: "agent_message",
      text: "Done.\n\n- edited a.ts\n- added b.ts\n",
    })),
    ["codex: Done.", "", "       - edited a.ts", "       - added b.ts"],
  );
  assert.deepEqual(
    renderEvent(item("item.started", "item_6", { type: "command_execution", command: "ls" })),
    ["$ ls"],
  );
  assert.deepEqual(
    renderEvent(item("item.started", "item_7", { type: "agent_message", text: "x" })),
    [],
  );
  assert.deepEqual(renderEvent({ type: "turn.started" }), []);
  assert.deepEqual(renderEvent({ type: "something.new", text: "x" }), []);
});

Deno.test("rendered lines never carry terminal escapes from the worker", () => {
  const hostile = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m\rover\x07\x9b1m\x1bPdcs\x1b\\ok\x1bc";
  const lines = [
    ...renderEvent(item("item.completed", "a", { type: "agent_message", text: hostile })),
    ...renderEvent(item("item.completed", "b", { type: "reasoning", text: hostile })),
    ...renderEvent(item("item.started", "c", { type: "command_execution", command: hostile })),
    ...renderEvent(item("item.completed", "c", {
      type: "command_execution",
      command: hostile,
      aggregated_output: `${hostile}\n`,
      exit_code: 1,
    })),
    ...renderEvent(item("item.completed", "d", {
      type: "file_change",
      changes: [{ path: `/w/${hostile}`, kind: "add" }],
    })),
    ...renderEvent({ type: "error", message: hostile }),
    ...renderEvent({ type: "turn.failed", error: { message: hostile } }),
  ];
  assert.equal(lines.length, 8);
  for (const line of lines) {
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(line, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, JSON.stringify(line));
    if (!line.startsWith("  exit")) assert.match(line, /redoverok/);
  }
  assert.equal(stripControl("a\r\nb\tc"), "a\nb\tc");
});

Deno.test("displayCommand() unwraps simple shell wrappers and leaves the rest as Codex ran it", () => {
  assert.equal(displayCommand("/bin/bash -lc 'ls -la'"), "ls -la");
  assert.equal(displayCommand(`bash -c "git status"`), "git status");
  assert.equal(displayCommand(`/bin/bash -lc 'echo '"'"'hi'"'"''`), "echo 'hi'");
  assert.equal(displayCommand(`/bin/bash -lc "echo $HOME"`), `/bin/bash -lc "echo $HOME"`);
  assert.equal(displayCommand("/bin/bash -lc 'a' 'b'"), "/bin/bash -lc 'a' 'b'");
  assert.equal(displayCommand(["rg", "-n", "done"]), "rg -n done");
  assert.equal(
    displayCommand("/bin/bash -lc 'cat <<EOF > f\none\ntwo\nEOF'"),
    "cat <<EOF > f … (+3 more lines)",
  );
});

Deno.test("token counts are shown in k and M", () => {
  assert.equal(formatCount(74), "74");
  assert.equal(formatCount(10544), "10.5k");
  assert.equal(formatCount(2000), "2k");
  assert.equal(formatCount(1_234_567), "1.2M");
  assert.deepEqual(
    renderEvent({
      type: "turn.completed",
      usage: {
        input_tokens: 3000,
        cached_input_tokens: 1900,
        output_tokens: 60,
        reasoning_output_tokens: 20,
      },
    }),
    ["turn completed: 3k in (1.9k cached), 60 out (20 reasoning)"],
  );
});
