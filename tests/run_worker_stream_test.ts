/**
 * How cmcs reads a worker's output: one huge line costs one pass and bounded memory (it is cut
 * from the events, with a warning, and kept in the log), bytes of a line still being written count
 * as activity, and the worker's exit ends the attempt even when a process it left behind keeps its
 * stdout open.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { childOutput } from "../src/core/child_output.ts";
import { cmcsEntry, PERMISSION_FLAGS } from "./helpers/cli.ts";
import { directive, readPids } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { attempts, runs, until } from "./helpers/runs.ts";
import { livePids } from "./helpers/procs.ts";

/**
 * A project whose worker notes the pids of what it leaves behind; disposing of it also kills
 * those (a process without the attempt's token is beyond cmcs's reach by design).
 */
async function streamProject(codex: Record<string, unknown> = {}) {
  const p = await testProject(codex);
  const pidsFile = join(p.stateDir, "pids.txt");
  const env = { FAKE_CODEX_PIDS_FILE: pidsFile };
  return {
    p,
    env,
    pids: () => readPids(pidsFile),
    async [Symbol.asyncDispose]() {
      for (const pid of livePids(await readPids(pidsFile))) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone meanwhile */ }
      }
      await p[Symbol.asyncDispose]();
    },
  };
}

async function oneTicket(p: TestProject, ...directives: string[]) {
  await p.ticket(
    "TICKET-001.md",
    { title: "Streamed", agent: "codex", done: false },
    `Do it.\n${directives.join("\n")}\n`,
  );
}

function warningsOf(p: TestProject): string[] {
  const [attempt] = attempts(p);
  return attempt.warnings ? JSON.parse(attempt.warnings) : [];
}

Deno.test("a worker that prints one 50 MB line finishes its ticket; the line is cut from the events with a warning and kept in the log", async () => {
  await using t = await streamProject();
  const { p } = t;
  await oneTicket(p, directive("huge-line", 50));
  const run = await p.cmcs(["run"], { env: t.env, timeoutMs: 120_000 });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const [attempt] = attempts(p);
  assert.equal(attempt.outcome, "done");
  assert.match(attempt.final_message ?? "", /^Completed TICKET-001/, "events after it were read");
  const warnings = warningsOf(p);
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0], /a line of codex's output \(50\.0 MiB\) was longer than .* and cut/);
  const log = await Deno.stat(join(p.path, ".cmcs/logs", attempt.log_dir!, "codex.jsonl"));
  assert.ok(log.size > 50 * 2 ** 20, `the log keeps the line (${log.size} bytes)`);
});

Deno.test("a worker still writing one long line is not ended by the idle timeout", async () => {
  await using t = await streamProject({ idle_timeout_s: 2 });
  const { p } = t;
  await oneTicket(p, directive("slow-line", 5));
  const run = await p.cmcs(["run"], { env: t.env });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const [attempt] = attempts(p);
  assert.equal(attempt.outcome, "done", attempt.message ?? "");
  assert.deepEqual(warningsOf(p), []);
});

Deno.test("a process the worker left holding its stdout, with the attempt's token, is ended when the worker exits", async () => {
  await using t = await streamProject();
  const { p } = t;
  await oneTicket(p, directive("escape-stdout"));
  const run = await p.cmcs(["run"], { env: t.env, timeoutMs: 40_000 });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(attempts(p)[0].outcome, "done");
  assert.deepEqual(warningsOf(p), [], "ending it closed the output: nothing was cut short");
  const [escaped] = await t.pids();
  assert.ok(escaped, "the worker left a process behind");
  await until("the escaped process to be gone", () => livePids([escaped]).length === 0, 5_000)
    .catch(() => {});
  assert.deepEqual(livePids([escaped]), []);
});

Deno.test("a process without the token holding the worker's stdout does not keep the attempt open after the worker exits", async () => {
  await using t = await streamProject();
  const { p } = t;
  await oneTicket(p, directive("escape-stdout", "no-token"));
  const run = await p.cmcs(["run"], { env: t.env, timeoutMs: 40_000 });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(attempts(p)[0].outcome, "done");
  assert.equal(runs(p)[0].status, "completed");
  const warnings = warningsOf(p);
  assert.ok(
    warnings.some((w) => /codex exited but something it started kept its output open/.test(w)),
    warnings.join("\n"),
  );
});

for (
  const [outcome, codex] of [
    ["timeout_total", { timeout_s: 2, stop_grace_s: 0.5 }],
    ["timeout_idle", { idle_timeout_s: 1, stop_grace_s: 0.5 }],
  ] as const
) {
  Deno.test(`${outcome} ends a worker whose escaped process holds its stdout, and the run ends`, async () => {
    await using t = await streamProject(codex);
    const { p } = t;
    await oneTicket(p, directive("escape-stdout", "no-token"), directive("hang"));
    const run = await p.cmcs(["run"], { env: t.env, timeoutMs: 40_000 });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.equal(attempts(p)[0].outcome, outcome);
    assert.equal(runs(p)[0].status, "failed");
  });
}

Deno.test("cmcs stop ends a worker whose escaped process holds its stdout, and the run ends", async () => {
  await using t = await streamProject({ stop_grace_s: 0.5 });
  const { p } = t;
  await oneTicket(p, directive("escape-stdout", "no-token"), directive("hang"));
  const running = p.cmcs(["run"], { env: t.env, timeoutMs: 40_000 });
  await until("the escaped process", async () => (await t.pids()).length > 0);
  const stop = await p.cmcs(["stop", "."]);
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  const run = await running;
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.equal(attempts(p)[0].outcome, "stopped");
  assert.equal(runs(p)[0].status, "stopped");
});

Deno.test("Ctrl-C on cmcs run ends a worker whose escaped process holds its stdout, and cmcs exits 130", async () => {
  await using t = await streamProject({ stop_grace_s: 0.5 });
  const { p } = t;
  await oneTicket(p, directive("escape-stdout", "no-token"), directive("hang"));
  // cmcs leads a process group of its own, as in a terminal.
  const broker = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSION_FLAGS, cmcsEntry(), "run"],
    cwd: p.path,
    env: { NO_COLOR: "1", ...p.env, ...t.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  const output = childOutput(broker);
  // A broker that hangs fails the test instead of holding it.
  const timer = setTimeout(() => {
    try {
      broker.kill("SIGKILL");
    } catch { /* ended */ }
  }, 40_000);
  try {
    await until("the escaped process", async () => (await t.pids()).length > 0);
    // The terminal sends SIGINT to the whole foreground process group.
    Deno.kill(-broker.pid, "SIGINT");
    const result = await output;
    assert.equal(result.code, 130, new TextDecoder().decode(result.stderr));
  } finally {
    clearTimeout(timer);
    try {
      broker.kill("SIGKILL");
    } catch { /* ended */ }
    await output;
  }
  assert.equal(attempts(p)[0].outcome, "stopped");
  assert.equal(runs(p)[0].status, "stopped");
});
