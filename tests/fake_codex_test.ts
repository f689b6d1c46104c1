import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir, tempRepo } from "./helpers/repo.ts";
import {
  anchorPrompt,
  CODEX_MESSAGES,
  type CodexEvent,
  defaultResetTime,
  execArgs,
  fakeCodexEnv,
  FakeCodexProcess,
  processGroupMembers,
  readCalls,
  readPids,
  runFakeCodex,
  type TicketSpec,
  usageLimitMessage,
  writeTicket,
} from "./helpers/fake_codex.ts";
import { until } from "./helpers/runs.ts";
import { parseResetTime } from "../src/core/outcome.ts";
import { processStartToken } from "../src/core/process_identity.ts";

const SAMPLE = new URL("../../shared/codex/exec-json-sample.jsonl", import.meta.url);

/** A repo with one ticket, the worker's isolated state, and the argument list cmcs would use. */
async function setup(spec: TicketSpec = {}, mode?: string) {
  const repo = await tempRepo("fake-codex-");
  const fake = await fakeCodexEnv(repo.path, mode);
  const ticket = await writeTicket(repo.path, "TICKET-001.md", spec);
  const output = join(fake.stateDir, "last-message.txt");
  return {
    repo,
    fake,
    ticket,
    output,
    args: (options: Parameters<typeof execArgs>[2] = {}) => execArgs(repo.path, output, options),
    run: (options: Parameters<typeof execArgs>[2] = {}, prompt = anchorPrompt(ticket)) =>
      runFakeCodex(execArgs(repo.path, output, options), { env: fake.env, stdin: prompt }),
    async [Symbol.asyncDispose]() {
      await repo[Symbol.asyncDispose]();
    },
  };
}

function shape(event: CodexEvent): string {
  return event.item ? `${event.type}/${event.item.type}` : event.type;
}

function isSubsequence(needle: string[], haystack: string[]): boolean {
  let i = 0;
  for (const entry of haystack) if (entry === needle[i]) i++;
  return i === needle.length;
}

function alive(pid: number): boolean {
  return processStartToken(pid) !== null;
}

function killGroups(pids: number[]): void {
  for (const pid of pids) {
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      Deno.kill(-pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

Deno.test("the ok path prints the event shapes of real codex exec --json", async () => {
  await using t = await setup();
  const sample: CodexEvent[] = (await Deno.readTextFile(SAMPLE)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  const result = await t.run({ model: "gpt-test", effort: "high" });
  assert.equal(result.code, 0, result.stderr);
  const ours = result.events.map(shape);
  assert.ok(
    isSubsequence(sample.map(shape), ours),
    `sample sequence ${sample.map(shape)} not within ${ours}`,
  );
  const documented = new Set([
    ...sample.map(shape),
    "item.started/file_change",
    "item.completed/file_change",
  ]);
  for (const entry of ours) assert.ok(documented.has(entry), `undocumented shape ${entry}`);
  for (const real of sample) {
    const mine = result.events.find((e) => shape(e) === shape(real))!;
    assert.deepEqual(Object.keys(mine).sort(), Object.keys(real).sort(), shape(real));
    if (real.item) {
      assert.deepEqual(Object.keys(mine.item!).sort(), Object.keys(real.item).sort(), shape(real));
    }
  }
  assert.equal(ours[0], "thread.started");
  assert.equal(ours.at(-1), "turn.completed");
  assert.match(result.stderr, /^Reading prompt from stdin\.\.\.$/m);
});

Deno.test("the ok path edits the ticket, writes the output file and -o", async () => {
  await using t = await setup({ title: "First" });
  const result = await t.run({ model: "gpt-test", effort: "low" });
  assert.equal(result.code, 0, result.stderr);
  const ticket = await Deno.readTextFile(t.ticket);
  assert.match(ticket, /^---\ntitle: "First"\nagent: codex\ndone: true\n---\n/);
  assert.match(ticket, /\n## Progress\n\nfake-codex \(model gpt-test, effort low\) wrote /);
  assert.equal(
    await Deno.readTextFile(join(t.repo.path, "fake-output/TICKET-001.txt")),
    "written by fake-codex for TICKET-001\n",
  );
  const messages = result.events.filter((e) => e.item?.type === "agent_message");
  assert.equal(await Deno.readTextFile(t.output), messages.at(-1)!.item!.text);
  const command = result.events.findLast((e) => e.item?.type === "command_execution")!;
  assert.equal(command.item!.exit_code, 0);
  assert.match(String(command.item!.aggregated_output), /^\d+:done: true\n$/);
  const change = result.events.findLast((e) => e.item?.type === "file_change")!;
  assert.deepEqual(change.item!.changes, [
    { path: join(t.repo.path, "fake-output/TICKET-001.txt"), kind: "add" },
    { path: t.ticket, kind: "update" },
  ]);
});

Deno.test("token usage grows with the prompt", async () => {
  await using t = await setup({ directives: ["not-done"] });
  const short = await t.run();
  const long = await t.run({}, anchorPrompt(t.ticket, "x".repeat(40_000)));
  const tokens = (r: typeof short) => r.events.at(-1)!.usage!.input_tokens;
  assert.ok(tokens(long) > tokens(short) + 5_000, `${tokens(short)} vs ${tokens(long)}`);
});

Deno.test("a write directive writes that file with that content, relative to -C", async () => {
  await using t = await setup({ directives: [["write", "src/hello.txt", "hello", "world"]] });
  const result = await t.run();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(await Deno.readTextFile(join(t.repo.path, "src/hello.txt")), "hello world\n");
  assert.match(await Deno.readTextFile(t.ticket), /done: true/);
});

Deno.test("a ticket without a done line gets one inserted in its front matter", async () => {
  await using t = await setup();
  await Deno.writeTextFile(t.ticket, "---\ntitle: x\n---\nbody\n");
  assert.equal((await t.run()).code, 0);
  assert.match(
    await Deno.readTextFile(t.ticket),
    /^---\ntitle: x\ndone: true\n---\nbody\n\n## Progress\n/,
  );
});

const FAILURES: [string, TicketSpec["directives"], string][] = [
  ["fail", ["fail"], CODEX_MESSAGES.highDemand],
  ["fail with a message", [["fail", "boom", "now"]], "boom now"],
  ["context", ["context"], CODEX_MESSAGES.contextWindow],
  ["usage-limit-later", ["usage-limit-later"], CODEX_MESSAGES.usageLimitLater],
  ["quota", ["quota"], CODEX_MESSAGES.quota],
  ["auth", ["auth"], CODEX_MESSAGES.auth],
];

for (const [name, directives, message] of FAILURES) {
  Deno.test(`${name} ends with error + turn.failed, exit 1 and an empty -o`, async () => {
    await using t = await setup({ directives });
    const result = await t.run();
    assert.equal(result.code, 1);
    assert.deepEqual(result.events.slice(-2), [
      { type: "error", message },
      { type: "turn.failed", error: { message } },
    ]);
    assert.equal(result.events[0].type, "thread.started");
    assert.equal(result.events.some((e) => e.type === "turn.completed"), false);
    assert.equal(await Deno.readTextFile(t.output), "");
    assert.match(await Deno.readTextFile(t.ticket), /done: false/);
    assert.doesNotMatch(result.stderr, new RegExp(message.slice(0, 20)));
  });
}

Deno.test("the usage-limit message names a reset time two days ahead that cmcs reads back exactly", () => {
  const now = new Date();
  const reset = defaultResetTime(now);
  const message = usageLimitMessage(reset);
  assert.match(message, /try again at \w{3} \d{1,2}(?:st|nd|rd|th), \d{4} \d{1,2}:\d\d [AP]M\.$/);
  assert.ok(reset.getTime() > now.getTime() + 86400_000, `${reset.toISOString()} is a day ahead`);
  assert.equal(parseResetTime(message, now), reset.toISOString());
});

Deno.test("the default usage-limit turn names a reset time still to come", async () => {
  const before = new Date();
  await using t = await setup({ directives: ["usage-limit"] });
  const result = await t.run();
  assert.equal(result.code, 1);
  const failed = result.events.find((e) => e.type === "turn.failed") as
    | { error: { message: string } }
    | undefined;
  assert.ok(failed, "a turn.failed event");
  const resets = parseResetTime(failed.error.message, before);
  assert.ok(resets, `a reset time in ${JSON.stringify(failed.error.message)}`);
  assert.ok(new Date(resets).getTime() > before.getTime() + 86400_000);
});

Deno.test("FAKE_CODEX_MODE is the default and a ticket directive overrides it", async () => {
  await using t = await setup({}, "context");
  assert.equal((await t.run()).code, 1);
  await writeTicket(t.repo.path, "TICKET-001.md", { directives: ["ok"] });
  assert.equal((await t.run()).code, 0);
});

Deno.test("context-unless-model fails for other models and succeeds for the named one", async () => {
  await using t = await setup({ directives: [["context-unless-model", "big-model"]] });
  const first = await t.run({ model: "small-model" });
  assert.equal(first.code, 1);
  assert.equal(first.events.at(-1)!.error!.message, CODEX_MESSAGES.contextWindow);
  const second = await t.run({ model: "big-model" });
  assert.equal(second.code, 0, second.stderr);
  assert.match(await Deno.readTextFile(t.ticket), /model big-model/);
});

Deno.test("transient-once fails the first call for a ticket and succeeds after", async () => {
  await using t = await setup({ directives: ["transient-once"] });
  const first = await t.run();
  assert.equal(first.code, 1);
  assert.equal(first.events.at(-1)!.error!.message, CODEX_MESSAGES.highDemand);
  assert.equal((await t.run()).code, 0);
  assert.match(await Deno.readTextFile(t.ticket), /done: true/);
});

Deno.test("not-done completes the turn with exit 0 but leaves the ticket undone", async () => {
  await using t = await setup({ directives: ["not-done"] });
  const result = await t.run();
  assert.equal(result.code, 0);
  assert.equal(result.events.at(-1)!.type, "turn.completed");
  const ticket = await Deno.readTextFile(t.ticket);
  assert.match(ticket, /done: false/);
  assert.doesNotMatch(ticket, /## Progress/);
});

Deno.test("no-progress sets done without appending a Progress section", async () => {
  await using t = await setup({ directives: ["no-progress"] });
  assert.equal((await t.run()).code, 0);
  const ticket = await Deno.readTextFile(t.ticket);
  assert.match(ticket, /done: true/);
  assert.doesNotMatch(ticket, /## Progress/);
});

Deno.test("exit2 prints a usage error and nothing on stdout", async () => {
  await using t = await setup({ directives: ["exit2"] });
  const result = await t.run();
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /error: unexpected argument '--bogus' found/);
});

Deno.test("stderr-noise writes warnings and ERROR lines yet succeeds", async () => {
  await using t = await setup({ directives: ["stderr-noise"] });
  const result = await t.run();
  assert.equal(result.code, 0);
  assert.match(result.stderr, /ERROR codex_core::/);
  assert.match(await Deno.readTextFile(t.ticket), /done: true/);
});

Deno.test("big-output prints one agent message of at least 200 KB", async () => {
  await using t = await setup({ directives: ["big-output"] });
  const result = await t.run();
  assert.equal(result.code, 0);
  const big = result.events.find((e) => String(e.item?.text ?? "").length >= 200 * 1024);
  assert.ok(big, "no 200 KB agent message");
});

Deno.test("slow keeps printing agent messages before finishing", async () => {
  await using t = await setup({ directives: [["slow", 1]] });
  const result = await t.run();
  assert.equal(result.code, 0);
  assert.ok(result.events.some((e) => e.item?.text === "Still working (1/1)..."));
});

Deno.test("a read-only sandbox makes the worker fail to write and not mark done", async () => {
  await using t = await setup();
  const result = await t.run({ sandbox: "read-only" });
  assert.equal(result.code, 0);
  assert.match(await Deno.readTextFile(t.ticket), /done: false/);
  assert.match(await Deno.readTextFile(t.output), /read-only/);
});

Deno.test("every call is recorded with argv, model, effort, prompt and pids", async () => {
  await using t = await setup();
  const prompt = anchorPrompt(t.ticket);
  const result = await t.run({ model: "gpt-x", effort: "xhigh" }, prompt);
  assert.equal(result.code, 0);
  const [call] = await readCalls(t.fake.recordFile);
  assert.deepEqual(call.argv, t.args({ model: "gpt-x", effort: "xhigh" }));
  assert.equal(call.model, "gpt-x");
  assert.equal(call.effort, "xhigh");
  assert.equal(call.resume, false);
  assert.equal(call.prompt_length, prompt.length);
  assert.equal(call.prompt_head, prompt.slice(0, 200));
  assert.equal(call.has_anchor, true);
  assert.equal(call.ticket_path, t.ticket);
  assert.equal(call.thread_id, result.events[0].thread_id);
  assert.ok(call.pid > 0 && call.ppid > 0);
});

Deno.test("the worker waits for stdin to close before printing anything", async () => {
  await using t = await setup();
  const worker = new FakeCodexProcess(t.args(), { env: t.fake.env, stdin: null });
  await worker.writeStdin(anchorPrompt(t.ticket));
  await worker.waitFor((p) => p.stderr.includes("Reading prompt from stdin"), "stdin read");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(worker.stdout, "", "printed before stdin was closed");
  await worker.closeStdin();
  const result = await worker.finish();
  assert.equal(result.code, 0);
  assert.equal(result.events.at(-1)!.type, "turn.completed");
});

Deno.test("command-line errors exit like codex: 2 for usage, 1 for an empty prompt", async () => {
  await using t = await setup();
  const fullAuto = await runFakeCodex(["exec", "--json", "--full-auto", "-"], {
    env: t.fake.env,
    stdin: "x",
  });
  assert.equal(fullAuto.code, 2);
  assert.match(fullAuto.stderr, /^error: unexpected argument '--full-auto' found$/m);
  const sAfterResume = await runFakeCodex(["exec", "--json", "resume", "-s", "read-only", "x"], {
    env: t.fake.env,
    stdin: "",
  });
  assert.equal(sAfterResume.code, 2);
  assert.match(sAfterResume.stderr, /unexpected argument '-s' found/);
  const cAfterResume = await runFakeCodex(["exec", "resume", "-C", t.repo.path, "id", "-"], {
    env: t.fake.env,
    stdin: "",
  });
  assert.equal(cAfterResume.code, 2);
  const empty = await runFakeCodex(t.args(), { env: t.fake.env, stdin: "" });
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /No prompt provided via stdin\./);
  assert.equal(empty.stdout, "");
});

Deno.test("outside a git repository --skip-git-repo-check is required", async () => {
  await using dir = await tempDir();
  const fake = await fakeCodexEnv(dir.path);
  const result = await runFakeCodex(["exec", "--json", "-C", dir.path, "-"], {
    env: fake.env,
    stdin: "hello",
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /--skip-git-repo-check was not specified/);
});

Deno.test("resume continues a known thread with the same id, finding the ticket itself", async () => {
  await using t = await setup({ directives: ["not-done-until-resume"] });
  const first = await t.run();
  assert.equal(first.code, 0);
  assert.match(await Deno.readTextFile(t.ticket), /done: false/);
  const threadId = first.events[0].thread_id!;
  const resumed = await runFakeCodex(
    [
      "exec",
      "--json",
      "-s",
      "workspace-write",
      "-C",
      t.repo.path,
      "--skip-git-repo-check",
      "-o",
      t.output,
      "resume",
      threadId,
      "-",
    ],
    { env: t.fake.env, stdin: "Please finish the job." },
  );
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(resumed.events[0], { type: "thread.started", thread_id: threadId });
  assert.match(await Deno.readTextFile(t.ticket), /done: true/);
  const firstTokens = first.events.at(-1)!.usage!.input_tokens;
  assert.ok(resumed.events.at(-1)!.usage!.cached_input_tokens >= firstTokens);
  const calls = await readCalls(t.fake.recordFile);
  assert.deepEqual(calls.map((c) => [c.resume, c.resumed, c.has_anchor]), [
    [false, false, true],
    [true, true, false],
  ]);
});

Deno.test("resume with an unknown id fails with codex's message", async () => {
  await using t = await setup();
  const id = "01a20aea-0000-7000-8000-000000000000";
  const result = await runFakeCodex(
    ["exec", "--json", "-C", t.repo.path, "--skip-git-repo-check", "resume", id, "-"],
    { env: t.fake.env, stdin: "more" },
  );
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.match(
    result.stderr,
    new RegExp(`no rollout found for thread id ${id} \\(code -32600\\)`),
  );
});

Deno.test("hang stops after turn.started and dies of SIGTERM", async () => {
  await using t = await setup({ directives: ["hang"] });
  const worker = new FakeCodexProcess(t.args(), { env: t.fake.env, stdin: anchorPrompt(t.ticket) });
  await worker.waitForEvent((e) => e.type === "turn.started", "turn.started");
  worker.kill("SIGTERM");
  const result = await worker.finish();
  assert.equal(result.signal, "SIGTERM");
  assert.deepEqual(result.events.map((e) => e.type), [
    "thread.started",
    "item.completed",
    "turn.started",
  ]);
});

Deno.test("grandchildren run in their own process groups and SIGINT ends them", async () => {
  await using t = await setup({ directives: [["grandchildren", 3]] });
  const worker = new FakeCodexProcess(t.args(), { env: t.fake.env, stdin: anchorPrompt(t.ticket) });
  await worker.waitFor(
    (p) => p.events.filter((e) => e.type === "item.started").length === 3,
    "three commands",
  );
  const pids = await readPids(t.fake.pidsFile);
  try {
    assert.equal(pids.length, 3);
    for (const pid of pids) assert.deepEqual(processGroupMembers(pid), [pid]);
    worker.kill("SIGINT");
    const result = await worker.finish();
    assert.equal(result.code, 1);
    // SIGKILL is delivered before the worker exits, but a killed process takes a moment to go.
    for (const pid of pids) {
      await until(`group ${pid} to end`, () => processGroupMembers(pid).length === 0);
    }
  } finally {
    killGroups(pids);
  }
});

Deno.test("SIGTERM kills the worker but orphans its grandchildren, like codex", async () => {
  await using t = await setup({ directives: [["grandchildren", 2]] });
  const worker = new FakeCodexProcess(t.args(), { env: t.fake.env, stdin: anchorPrompt(t.ticket) });
  await worker.waitFor(
    (p) => p.events.filter((e) => e.type === "item.started").length === 2,
    "two commands",
  );
  const pids = await readPids(t.fake.pidsFile);
  try {
    worker.kill("SIGTERM");
    assert.equal((await worker.finish()).signal, "SIGTERM");
    for (const pid of pids) assert.ok(alive(pid), `grandchild ${pid} should survive SIGTERM`);
  } finally {
    killGroups(pids);
  }
});

Deno.test("long-command runs a real command group that SIGINT kills", async () => {
  await using t = await setup({ directives: ["long-command"] });
  const worker = new FakeCodexProcess(t.args(), { env: t.fake.env, stdin: anchorPrompt(t.ticket) });
  await worker.waitForEvent((e) => e.item?.type === "command_execution", "the command");
  const [pgid] = await readPids(t.fake.pidsFile);
  assert.ok(pgid > 1, "no command pid recorded");
  try {
    await worker.waitFor(() => processGroupMembers(pgid).length === 2, "sh and sleep");
    worker.kill("SIGINT");
    const result = await worker.finish();
    assert.equal(result.code, 1);
    assert.equal(result.events.at(-1)!.type, "item.started");
    await until(`group ${pgid} to end`, () => processGroupMembers(pgid).length === 0);
  } finally {
    killGroups([pgid]);
  }
});

Deno.test("long-command with a short duration finishes the command and the ticket", async () => {
  await using t = await setup({ directives: [["long-command", 0]] });
  const result = await t.run();
  assert.equal(result.code, 0, result.stderr);
  const command = result.events.find((e) =>
    e.type === "item.completed" && e.item?.type === "command_execution"
  )!;
  assert.equal(command.item!.aggregated_output, "finished\n");
  assert.match(await Deno.readTextFile(t.ticket), /done: true/);
});

Deno.test("ignore-sigterm survives SIGTERM and SIGINT; only SIGKILL ends it", async () => {
  await using t = await setup({ directives: ["ignore-sigterm"] });
  const worker = new FakeCodexProcess(t.args(), { env: t.fake.env, stdin: anchorPrompt(t.ticket) });
  await worker.waitForEvent((e) => e.type === "turn.started", "turn.started");
  worker.kill("SIGTERM");
  worker.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(alive(worker.child.pid), "worker died of SIGTERM/SIGINT");
  worker.kill("SIGKILL");
  assert.equal((await worker.finish()).signal, "SIGKILL");
});

Deno.test("launcher runs the agent as a child and forwards SIGINT to it", async () => {
  await using t = await setup({ directives: ["long-command"] }, "launcher");
  const worker = new FakeCodexProcess(t.args(), { env: t.fake.env, stdin: anchorPrompt(t.ticket) });
  await worker.waitForEvent((e) => e.item?.type === "command_execution", "the command");
  const [pgid] = await readPids(t.fake.pidsFile);
  assert.ok(pgid > 1, "no command pid recorded");
  try {
    const [call] = await readCalls(t.fake.recordFile);
    assert.equal(call.via_launcher, true);
    assert.equal(call.ppid, worker.child.pid);
    worker.kill("SIGINT");
    const result = await worker.finish();
    assert.equal(result.code, 1);
    assert.ok(!alive(call.pid), "the agent outlived its launcher");
    assert.deepEqual(processGroupMembers(pgid), []);
  } finally {
    killGroups([pgid]);
  }
});

Deno.test("a launcher directive in the ticket pipes the prompt to the child and mirrors SIGTERM", async () => {
  await using t = await setup({ directives: ["launcher", "hang"] });
  const worker = new FakeCodexProcess(t.args(), { env: t.fake.env, stdin: anchorPrompt(t.ticket) });
  await worker.waitForEvent((e) => e.type === "turn.started", "turn.started");
  const [call] = await readCalls(t.fake.recordFile);
  assert.equal(call.via_launcher, true);
  assert.equal(call.has_anchor, true);
  worker.kill("SIGTERM");
  const result = await worker.finish();
  assert.equal(result.signal, "SIGTERM");
  assert.equal(result.stderr.match(/Reading prompt from stdin/g)?.length, 1, result.stderr);
  assert.ok(!alive(call.pid));
});

Deno.test("a launcher from a ticket directive forwards SIGINT (exit 1)", async () => {
  await using t = await setup({ directives: ["launcher", "hang"] });
  const worker = new FakeCodexProcess(t.args(), { env: t.fake.env, stdin: anchorPrompt(t.ticket) });
  await worker.waitForEvent((e) => e.type === "turn.started", "turn.started");
  const [call] = await readCalls(t.fake.recordFile);
  worker.kill("SIGINT");
  assert.equal((await worker.finish()).code, 1);
  assert.ok(!alive(call.pid), "the agent outlived its launcher");
});

Deno.test("a launcher mirrors the agent's exit code", async () => {
  await using t = await setup({ directives: ["context"] }, "launcher");
  const result = await t.run();
  assert.equal(result.code, 1);
  assert.equal(result.events.at(-1)!.type, "turn.failed");
});
