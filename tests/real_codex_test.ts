/**
 * End-to-end: cmcs driving the real Codex CLI (`@openai/codex`, the version pinned in
 * real_codex/setup.ts, installed from npm into a cache directory) against a mock of the model API
 * on 127.0.0.1. Codex runs the mock's shell commands for real in the test repositories.
 *
 * When the npm registry cannot be reached, every test here is reported as ignored and one line
 * says why; the suite never passes without having run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { stringify } from "yaml";
import { type CliResult, cmcs, cmcsEntry, PERMISSION_FLAGS } from "./helpers/cli.ts";
import { gitIn, tempRepo } from "./helpers/repo.ts";
import {
  type MockModelServer,
  type RecordedRequest,
  type Reply,
  RESPONSE_USAGE,
  type Scenario,
  startMockModelServer,
} from "./real_codex/mock_model_server.ts";
import { CODEX_VERSIONS, codexHome, type CodexInstall, ensureCodex } from "./real_codex/setup.ts";
import { descendants, isAlive, processesWithToken } from "../src/core/process_tree.ts";
import { processStartToken } from "../src/core/process_identity.ts";

/** Each tested Codex release, installed (or the one line saying why it could not be). */
const INSTALLS: { version: string; install: CodexInstall }[] = [];
for (const version of CODEX_VERSIONS) {
  const install = await ensureCodex(version);
  if (!install.ok) {
    console.log(
      `real Codex suite skipped for ${version}: cannot install @openai/codex@${version} from npm: ${install.reason}`,
    );
  }
  INSTALLS.push({ version, install });
}

/** The release the running test drives (tests in one file run one after another). */
let current = { version: "", bin: "" };

/** Registers a test once per tested Codex release; ignored for a release that did not install. */
function realCodexTest(def: { name: string; fn: () => Promise<void> }): void {
  for (const { version, install } of INSTALLS) {
    Deno.test({
      name: `${def.name} (codex ${version})`,
      ignore: !install.ok,
      async fn() {
        current = { version, bin: install.ok ? install.bin : "" };
        await def.fn();
      },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The "model": scripted replies.

/** The ticket path out of cmcs's prompt (`update the ticket file at <path>:`). */
function ticketPathOf(request: RecordedRequest): string {
  for (const text of request.texts) {
    const match = /update the ticket file at (\S+?):\n/.exec(text);
    if (match) return match[1];
  }
  throw new Error("mock: no ticket path in the prompt");
}

function ticketIdOf(path: string): string {
  return /(TICKET-\d+)\.md$/.exec(path)?.[1] ?? "TICKET";
}

/**
 * The shell command that does a ticket's work the way a worker would: writes `notes/<id>.txt`,
 * sets `done: true` and appends a `## Progress` section.
 */
function workCommand(ticketPath: string, note: string): string {
  const id = ticketIdOf(ticketPath);
  return [
    "mkdir -p notes",
    `printf '%s\\n' '${note}' > notes/${id}.txt`,
    `sed -i 's/^done: false/done: true/' '${ticketPath}'`,
    `printf '\\n## Progress\\n\\nWrote notes/${id}.txt; checked it with cat.\\n' >> '${ticketPath}'`,
    `cat notes/${id}.txt`,
  ].join(" && ");
}

/** Does the ticket in two model responses: the command, then the final message. */
function completeTicket(request: RecordedRequest, offset = 0): Reply {
  const path = ticketPathOf(request);
  const id = ticketIdOf(path);
  switch (request.step - offset) {
    case 0:
      return {
        kind: "command",
        note: `I will do ${id}.`,
        cmd: workCommand(path, `note for ${id}`),
      };
    case 1:
      return { kind: "message", text: `Done: ${id} is marked done and notes/${id}.txt exists.` };
    default:
      return { kind: "http_error", status: 400, code: "mock_script_exhausted", message: "no more" };
  }
}

const CONTEXT_400: Reply = {
  kind: "http_error",
  status: 400,
  code: "context_length_exceeded",
  message: "Your input exceeds the context window of this model.",
};

const CONTEXT_FAILED: Reply = {
  kind: "failed",
  code: "context_length_exceeded",
  message: "Your input exceeds the context window of this model.",
};

/** How far ahead the mock's usage limit lifts. */
const USAGE_RESET_S = 7200;

/** A marker unique to this test run, so process-table searches find only our commands. */
const MARK = `cmcs-e2e-${crypto.randomUUID().slice(0, 8)}`;

const SCENARIOS: Record<string, Scenario> = {
  complete: (r) => completeTicket(r),
  "context-400": (r) => r.model === "mock-big" ? CONTEXT_400 : completeTicket(r),
  "context-failed": (r) => r.model === "mock-big" ? CONTEXT_FAILED : completeTicket(r),
  hang: [{ kind: "hang" }],
  // A ChatGPT-plan usage limit, with the reset time in the body and the headers as the service
  // sends it; whether Codex repeats it in its message depends on the release (0.171.0 does not).
  "usage-limit": [{
    kind: "http_error",
    status: 429,
    type: "usage_limit_reached",
    code: "usage_limit_reached",
    message: "The usage limit has been reached",
    extra: { plan_type: "plus", resets_in_seconds: USAGE_RESET_S },
    headers: {
      "x-codex-primary-used-percent": "100",
      "x-codex-primary-window-minutes": "300",
      "x-codex-primary-reset-after-seconds": String(USAGE_RESET_S),
    },
  }],
  "long-command": [
    {
      kind: "command",
      cmd: `echo started-${MARK}; sleep 300; echo never-${MARK}`,
      yieldTimeMs: 30_000,
    },
    { kind: "message", text: "the long command ended" },
  ],
  resume: (r) => {
    if (r.step < 2) return completeTicket(r);
    const path = ticketPathOf(r);
    if (r.step === 2) {
      return {
        kind: "command",
        cmd: `printf 'feedback addressed\\n' > notes/feedback.txt && ` +
          `sed -i 's/^done: false/done: true/' '${path}'`,
      };
    }
    return { kind: "message", text: "Round 2: wrote notes/feedback.txt." };
  },
};

// ---------------------------------------------------------------------------------------------
// A cmcs project wired to the real Codex and the mock.

interface RealProject extends AsyncDisposable {
  path: string;
  mock: MockModelServer;
  env: Record<string, string>;
  cmcs(args: string[], timeoutMs?: number): Promise<CliResult>;
  /** Starts cmcs without waiting for it (for stop and timeouts observed from outside). */
  spawn(args: string[]): { child: Deno.ChildProcess; result: Promise<CliResult> };
  ticket(name: string, title: string, scenario: string): Promise<string>;
  /** The attempts table, read directly (for the process identities of running attempts). */
  attempts(): AttemptRecord[];
}

/**
 * An attempt's row as the database holds it: the worker's pid and process token, which no command
 * prints but which name every process of the attempt.
 */
interface AttemptRecord {
  id: number;
  ticket: string;
  outcome: string | null;
  worker_pid: number | null;
  process_token: string | null;
}

async function realProject(codex: Record<string, unknown> = {}): Promise<RealProject> {
  const mock = startMockModelServer(SCENARIOS);
  const home = await codexHome(mock.baseUrl);
  const repo = await tempRepo("cmcs-real-codex-");
  const env = { ...home.env };
  const init = await cmcs(["init"], { cwd: repo.path, env });
  if (init.code !== 0) throw new Error(`cmcs init failed: ${init.stderr}`);
  const config = {
    codex: {
      command: current.bin,
      model: "mock-model",
      timeout_s: 120,
      idle_timeout_s: 60,
      stop_grace_s: 1,
      max_retries: 0,
      ...codex,
    },
  };
  await Deno.writeTextFile(join(repo.path, ".cmcs/config.yml"), stringify(config));
  await gitIn(repo.path, "add", "-A");
  await gitIn(repo.path, "commit", "-q", "-m", "cmcs init");
  const dbPath = join(repo.path, ".cmcs/cmcs.db");
  return {
    path: repo.path,
    mock,
    env,
    cmcs: (args, timeoutMs) => cmcs(args, { cwd: repo.path, env, timeoutMs }),
    spawn(args) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", ...PERMISSION_FLAGS, cmcsEntry(), ...args],
        cwd: repo.path,
        env: { NO_COLOR: "1", ...env },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const result = child.output().then((out) => ({
        code: out.code,
        stdout: new TextDecoder().decode(out.stdout),
        stderr: new TextDecoder().decode(out.stderr),
      }));
      return { child, result };
    },
    async ticket(name, title, scenario) {
      const path = join(repo.path, ".cmcs/tickets", name);
      await Deno.writeTextFile(
        path,
        `---\ntitle: ${title}\nagent: codex\ndone: false\n---\n\n## Goal\n\n${title}.\n\n` +
          `<!-- mock: ${scenario} -->\n`,
      );
      return path;
    },
    attempts() {
      const db = new DatabaseSync(dbPath, { readOnly: true });
      try {
        return db.prepare(
          "SELECT id, ticket, outcome, worker_pid, process_token FROM attempts ORDER BY id",
        ).all() as unknown as AttemptRecord[];
      } finally {
        db.close();
      }
    },
    async [Symbol.asyncDispose]() {
      await mock.close();
      await home[Symbol.asyncDispose]();
      await repo[Symbol.asyncDispose]();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Processes.

interface Proc {
  pid: number;
  ppid: number;
  start: string | null;
  args: string;
}

/** `ps` of the given pids (those still running), with their command lines. */
async function describeProcs(pids: number[]): Promise<Proc[]> {
  if (pids.length === 0) return [];
  const out = await new Deno.Command("ps", {
    args: ["-o", "pid=,ppid=,args=", "-p", pids.join(",")],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim()).map((line) => {
    const [, pid, ppid, args] = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line)!;
    return { pid: Number(pid), ppid: Number(ppid), start: processStartToken(Number(pid)), args };
  });
}

/** Every process of an attempt right now: the worker's descendants and every token carrier. */
async function attemptProcesses(attempt: AttemptRecord): Promise<Proc[]> {
  const pids = new Set<number>();
  if (attempt.worker_pid) {
    pids.add(attempt.worker_pid);
    for (const p of descendants(attempt.worker_pid)) pids.add(p.pid);
  }
  if (attempt.process_token) {
    for (const pid of processesWithToken(attempt.process_token)) pids.add(pid);
  }
  return await describeProcs([...pids]);
}

/** Polls until `probe` returns a value (not undefined), or fails after `timeoutMs`. */
async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The Node launcher: `node …/node_modules/.bin/codex` (a link to `@openai/codex/bin/codex.js`). */
const isShim = (p: Proc) => /^\S*node\s+\S*(?:\.bin\/codex|bin\/codex\.js)\s/.test(p.args);
/** The native binary of the platform package (`…/vendor/<target>/bin/codex`). */
const isNative = (p: Proc) => /^\S*\/vendor\/[^/\s]+\/bin\/codex\s/.test(p.args);

/** Kills whatever a failed test left behind, so a broken run cannot leak into the next one. */
function reap(procs: Proc[]): void {
  for (const p of procs) {
    if (p.pid > 1 && isAlive(p.pid, p.start)) {
      try {
        Deno.kill(p.pid, "SIGKILL");
      } catch { /* gone */ }
    }
  }
}

/** An attempt in `cmcs result --json` (fields that would be null are left out). */
interface ResultAttempt {
  kind: string;
  model?: string;
  outcome?: string;
  message?: string;
  /** Left out when 0. */
  exit_code?: number;
  thread_id?: string;
  /** input + output */
  tokens?: number;
  log_dir?: string;
}

interface ResultPacket {
  ticket: string;
  outcome: string | null;
  message?: string;
  resets_at?: string;
  final_message?: string;
  files?: [string, number | null, number | null][];
  tokens: { input: number; cached_input: number; output: number; reasoning: number };
  attempts: ResultAttempt[];
}

/** `cmcs result . <ticket> --json`: what an orchestrator reads back about a ticket. */
async function resultOf(p: RealProject, ticket: string): Promise<ResultPacket> {
  const out = await p.cmcs(["result", ".", ticket, "--json"]);
  assert.equal(out.code, 0, out.stdout + out.stderr);
  return JSON.parse(out.stdout);
}

function runStatus(path: string, json: string): { status: string; message?: string } {
  const status = JSON.parse(json) as {
    project: string;
    runs: { target: string; status: string; message?: string }[];
  };
  const run = status.runs.find((r) => join(status.project, r.target) === path);
  assert.ok(run, `no run for ${path} in status --json`);
  return run;
}

// ---------------------------------------------------------------------------------------------

realCodexTest({
  name:
    "real Codex completes three tickets by running shell commands, and cmcs records threads, usage and final messages",
  async fn() {
    await using p = await realProject();
    const tickets = [
      await p.ticket("TICKET-001.md", "Write the first note", "complete"),
      await p.ticket("TICKET-002.md", "Write the second note", "complete"),
      await p.ticket("TICKET-003.md", "Write the third note", "complete"),
    ];
    await gitIn(p.path, "add", "-A");
    await gitIn(p.path, "commit", "-q", "-m", "tickets");

    const run = await p.cmcs(["run"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /TICKET-003\s+done/);

    for (const [i, path] of tickets.entries()) {
      const id = `TICKET-00${i + 1}`;
      const text = await Deno.readTextFile(path);
      assert.match(text, /^done: true$/m, `${id} marked done by the real command`);
      assert.match(text, /## Progress\n\nWrote notes\/TICKET-00\d\.txt/);
      assert.equal(await Deno.readTextFile(join(p.path, `notes/${id}.txt`)), `note for ${id}\n`);
    }

    const threads: string[] = [];
    for (const id of ["TICKET-001", "TICKET-002", "TICKET-003"]) {
      const result = await resultOf(p, id);
      assert.equal(result.outcome, "done");
      assert.equal(result.attempts.length, 1);
      assert.equal(result.attempts[0].exit_code ?? 0, 0);
      // The thread is the one Codex announced to the model (its session-id header).
      const threadId = result.attempts[0].thread_id;
      assert.match(threadId ?? "", /^[0-9a-f-]{36}$/);
      threads.push(threadId!);
      const requests = p.mock.requests.filter((r) => r.threadId === threadId);
      assert.equal(requests.length, 2, `two model requests in ${id}'s thread`);
      assert.equal(result.final_message, `Done: ${id} is marked done and notes/${id}.txt exists.`);
      assert.equal(
        (await Deno.readTextFile(
          join(p.path, ".cmcs/logs", result.attempts[0].log_dir!, "last-message.md"),
        )).trim(),
        result.final_message,
      );
      // Usage is the sum of the turn's two responses, as Codex reports it in turn.completed.
      assert.deepEqual(result.tokens, {
        input: 2 * RESPONSE_USAGE.input_tokens,
        cached_input: 2 * RESPONSE_USAGE.cached_input_tokens,
        output: 2 * RESPONSE_USAGE.output_tokens,
        reasoning: 2 * RESPONSE_USAGE.reasoning_output_tokens,
      });
      assert.equal(
        result.attempts[0].tokens,
        2 * (RESPONSE_USAGE.input_tokens + RESPONSE_USAGE.output_tokens),
      );
      assert.deepEqual(
        (result.files ?? []).map((f) => f[0]).sort(),
        [`.cmcs/tickets/${id}.md`, `notes/${id}.txt`],
      );
    }
    assert.equal(new Set(threads).size, 3, "one thread per ticket");
    // The model saw what the command printed (the function_call_output went back to it).
    assert.ok(
      p.mock.requests.some((r) => r.toolOutputs.some((t) => t.includes("note for TICKET-002"))),
    );
    assert.ok(p.mock.requests.every((r) => r.model === "mock-model"));

    const status = await p.cmcs(["status", "--json"]);
    const summary = JSON.parse(status.stdout).runs[0];
    assert.equal(summary.status, "completed");
    assert.deepEqual(summary.tickets, { started: 3, done: 3, failed: 0, awaiting_review: 3 });
    assert.equal(
      summary.tokens,
      6 * (RESPONSE_USAGE.input_tokens + RESPONSE_USAGE.output_tokens),
    );

    // Each ticket's work was committed by cmcs.
    const log = await gitIn(p.path, "log", "--format=%s");
    for (const id of ["TICKET-001", "TICKET-002", "TICKET-003"]) assert.match(log, new RegExp(id));
  },
});

realCodexTest({
  name:
    "a context-window failure from the real Codex is retried once with codex.fallback_model, which completes the ticket",
  async fn() {
    await using p = await realProject({ model: "mock-big", fallback_model: "mock-small" });
    await p.ticket("TICKET-001.md", "Fails with HTTP 400 on the big model", "context-400");
    await p.ticket(
      "TICKET-002.md",
      "Fails with response.failed on the big model",
      "context-failed",
    );
    await gitIn(p.path, "add", "-A");
    await gitIn(p.path, "commit", "-q", "-m", "tickets");

    const run = await p.cmcs(["run"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /TICKET-001\s+retry: context window exceeded; retrying with fallback model mock-small/,
    );

    for (const id of ["TICKET-001", "TICKET-002"]) {
      const result = await resultOf(p, id);
      assert.equal(result.outcome, "done");
      assert.deepEqual(result.attempts.map((a, i) => [i + 1, a.kind, a.model, a.outcome]), [
        [1, "first", "mock-big", "context_limit"],
        [2, "fallback", "mock-small", "done"],
      ]);
      const [failed, fallback] = result.attempts;
      assert.match(failed.message ?? "", /ran out of room in the model's context window/);
      assert.equal(failed.exit_code, 1);
      assert.equal(failed.tokens, undefined, "no usage on a failed turn");
      assert.notEqual(fallback.thread_id, failed.thread_id, "the fallback starts a new thread");
    }
    for (const scenario of ["context-400", "context-failed"]) {
      assert.deepEqual(p.mock.requestsFor(scenario).map((r) => r.model), [
        "mock-big",
        "mock-small",
        "mock-small",
      ]);
    }
    assert.match(
      await Deno.readTextFile(join(p.path, ".cmcs/tickets/TICKET-002.md")),
      /^done: true$/m,
    );
  },
});

realCodexTest({
  name:
    "a usage limit from the real Codex fails the ticket as usage_limit, and cmcs never invents a reset time",
  async fn() {
    await using p = await realProject();
    await p.ticket("TICKET-001.md", "Hits the usage limit", "usage-limit");
    const before = Date.now();
    const run = await p.cmcs(["run"]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /TICKET-001\s+usage_limit/);

    const packet = await resultOf(p, "TICKET-001");
    assert.equal(packet.outcome, "usage_limit");
    assert.match(packet.message ?? "", /usage limit/i);
    const text = await p.cmcs(["result", ".", "TICKET-001"]);
    const status = await p.cmcs(["status"]);
    if (packet.resets_at === undefined) {
      // What Codex said names no time (0.171.0: "Try again later."): cmcs says so plainly.
      assert.match(text.stdout, /^why .*\(reset time unknown\)$/m);
      assert.match(
        status.stdout,
        /^run \d+ failed: TICKET-001: usage_limit — .*\(reset time unknown\)$/m,
      );
    } else {
      // Codex named the time: it is the mock's, give or take the run's own duration.
      const resets = new Date(packet.resets_at).getTime();
      assert.ok(resets >= before, `${packet.resets_at} is in the future`);
      assert.match(text.stdout, new RegExp(`\\(resets at ${packet.resets_at}\\)$`, "m"));
    }
    if (current.version === "0.171.0") assert.equal(packet.resets_at, undefined);
  },
});

realCodexTest({
  name:
    "a model that stops answering is ended by codex.idle_timeout_s, leaving no Codex process behind",
  async fn() {
    await using p = await realProject({ idle_timeout_s: 2 });
    await p.ticket("TICKET-001.md", "The model hangs", "hang");
    const { child, result } = p.spawn(["run"]);
    let seen: Proc[] = [];
    try {
      await p.mock.waitForRequest((r) => r.scenario === "hang");
      const attempt = await until(
        "the attempt's worker",
        () => p.attempts().find((a) => a.process_token),
      );
      seen = await attemptProcesses(attempt);
      const run = await result;
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /TICKET-001\s+timeout_idle .*no output from codex for 2s/);

      // While the model hung, the Node shim and the native binary were both running.
      assert.ok(seen.some(isShim), `the codex.js shim: ${JSON.stringify(seen)}`);
      assert.ok(seen.some(isNative), `the native codex: ${JSON.stringify(seen)}`);
      const alive = seen.filter((proc) => isAlive(proc.pid, proc.start));
      assert.deepEqual(alive, [], "every process of the attempt is gone");
      assert.deepEqual(processesWithToken(attempt.process_token!), []);

      const packet = await resultOf(p, "TICKET-001");
      assert.equal(packet.outcome, "timeout_idle");
      assert.match(packet.message ?? "", /no output from codex for 2s \(codex\.idle_timeout_s\)/);
      const status = await p.cmcs(["status", "--json"]);
      assert.equal(runStatus(p.path, status.stdout).status, "failed");
    } finally {
      reap(seen);
      try {
        child.kill("SIGKILL");
      } catch { /* ended */ }
      await result;
    }
  },
});

realCodexTest({
  name:
    "cmcs stop during a long command ends the real Codex and the command's processes (sleep included)",
  async fn() {
    await using p = await realProject();
    await p.ticket("TICKET-001.md", "Runs sleep 300", "long-command");
    await p.ticket("TICKET-002.md", "Must not start after the stop", "complete");
    const { child, result } = p.spawn(["run"]);
    let seen: Proc[] = [];
    try {
      const attempt = await until(
        "the attempt's worker",
        () => p.attempts().find((a) => a.process_token),
      );
      // Wait until the command runs: bash with our marker and its `sleep 300` child.
      seen = await until("sleep 300 running under Codex", async () => {
        const procs = await attemptProcesses(attempt);
        const shell = procs.find((proc) => proc.args.includes(`started-${MARK}`));
        const sleep = shell &&
          procs.find((proc) => proc.ppid === shell.pid && /^sleep 300/.test(proc.args));
        return sleep ? procs : undefined;
      });
      assert.ok(seen.some(isShim) && seen.some(isNative), JSON.stringify(seen));

      const stop = await p.cmcs(["stop", "."]);
      assert.equal(stop.code, 0, stop.stdout + stop.stderr);
      const run = await result;
      assert.notEqual(run.code, 0);
      assert.match(run.stdout, /TICKET-001\s+stopped/);
      assert.doesNotMatch(run.stdout, /TICKET-002/);

      const alive = seen.filter((proc) => isAlive(proc.pid, proc.start));
      assert.deepEqual(alive, [], "shim, native codex, bash and sleep are all gone");
      assert.deepEqual(processesWithToken(attempt.process_token!), []);

      assert.deepEqual(p.attempts().map((a) => [a.ticket, a.outcome]), [["TICKET-001", "stopped"]]);
      assert.equal((await resultOf(p, "TICKET-001")).outcome, "stopped");
      const status = await p.cmcs(["status", "--json"]);
      assert.equal(runStatus(p.path, status.stdout).status, "stopped");
      assert.equal(p.mock.requestsFor("complete").length, 0);
    } finally {
      reap(seen);
      try {
        child.kill("SIGKILL");
      } catch { /* ended */ }
      await result;
    }
  },
});

realCodexTest({
  name: "cmcs resume continues the real Codex thread with the orchestrator's feedback",
  async fn() {
    await using p = await realProject();
    const ticket = await p.ticket("TICKET-001.md", "Write a note, then take feedback", "resume");
    await gitIn(p.path, "add", "-A");
    await gitIn(p.path, "commit", "-q", "-m", "tickets");
    const run = await p.cmcs(["run"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);

    const feedback = "Please also write notes/feedback.txt.";
    const resumed = await p.cmcs(["resume", ".", "TICKET-001", "-m", feedback]);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);

    const result = await resultOf(p, "TICKET-001");
    assert.deepEqual(result.attempts.map((a) => [a.kind, a.outcome]), [
      ["first", "done"],
      ["resume", "done"],
    ]);
    const [first, again] = result.attempts;
    assert.ok(first.thread_id);
    assert.equal(again.thread_id, first.thread_id, "the same Codex thread");
    assert.equal(result.final_message, "Round 2: wrote notes/feedback.txt.");

    const requests = p.mock.requestsFor("resume");
    assert.equal(requests.length, 4);
    assert.ok(requests.every((r) => r.threadId === first.thread_id));
    // The resumed request carries the first round's history and the feedback.
    const third = requests[2].texts.join("\n");
    assert.match(third, /Done: TICKET-001 is marked done/);
    assert.ok(third.includes(feedback));
    assert.equal(
      await Deno.readTextFile(join(p.path, "notes/feedback.txt")),
      "feedback addressed\n",
    );
    assert.match(await Deno.readTextFile(ticket), /^done: true$/m);
  },
});

realCodexTest({
  name:
    "a flag the installed Codex rejects (exit 2) fails the ticket with Codex's error and a hint about the CLI version",
  async fn() {
    await using p = await realProject({ extra_args: ["--full-auto"] });
    await p.ticket("TICKET-001.md", "Never starts", "complete");
    const run = await p.cmcs(["run"]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const expected =
      /Codex rejected a command-line flag cmcs passed \(exit 2\): error: unexpected argument '--full-auto' found .*codex --version.*codex\.extra_args/;
    assert.match(run.stdout, expected);

    const result = await resultOf(p, "TICKET-001");
    assert.equal(result.outcome, "worker_failed");
    assert.equal(result.attempts[0].exit_code, 2);
    assert.match(result.message ?? "", expected);
    assert.equal(p.mock.requests.length, 0, "Codex never reached the model");

    const status = await p.cmcs(["status", "--json"]);
    const summary = runStatus(p.path, status.stdout);
    assert.equal(summary.status, "failed");
    assert.match(summary.message ?? "", expected);
  },
});
