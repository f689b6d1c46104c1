/**
 * cmcs stays in control of every process it starts: timeouts, `cmcs stop`, Ctrl-C on `cmcs run`
 * and a broker killed outright all end with no process of the worker left (checked in the process
 * table: the worker, the commands it ran in process groups of their own, and anything carrying
 * the attempt's process token), and with the database telling what happened.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AttemptRow } from "../src/core/db/types.ts";
import { processesWithToken } from "../src/core/process_tree.ts";
import { cmcsEntry, PERMISSION_FLAGS } from "./helpers/cli.ts";
import { directive, processGroupMembers, readPids } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { attempts, query, runs, until } from "./helpers/runs.ts";
import { livePids } from "./helpers/procs.ts";

/** A fresh pids file for the stand-in worker's commands, passed to cmcs through its env. */
function pidsEnv(p: TestProject): { env: Record<string, string>; file: string } {
  const file = join(p.stateDir, "pids.txt");
  return { env: { FAKE_CODEX_PIDS_FILE: file }, file };
}

/**
 * Asserts that nothing started for `attempt` lives on: its worker, every pid the stand-in noted
 * (commands, grandchildren) with their whole process groups, every recorded worker process (the
 * launcher's child), and any process carrying the attempt's token.
 */
async function assertNothingLeft(p: TestProject, attempt: AttemptRow, pidsFile: string) {
  assert.ok(attempt.worker_pid && attempt.process_token, "the worker was recorded");
  const noted = await readPids(pidsFile);
  const workers = (await p.calls()).map((c) => Number(c.pid));
  const all = [attempt.worker_pid, ...workers, ...noted];
  // The kill is over when cmcs reports the attempt, but a SIGKILLed process may take a moment to
  // leave the table.
  await until("the worker's processes to be gone", () => livePids(all).length === 0, 5_000)
    .catch(() => {});
  assert.deepEqual(livePids(all), [], `still alive of ${all.join(", ")}`);
  for (const pgid of noted) assert.deepEqual(processGroupMembers(pgid), [], `group ${pgid}`);
  assert.deepEqual(processesWithToken(attempt.process_token), []);
}

interface Spawned {
  child: Deno.ChildProcess;
  output: Promise<{ code: number; signal: Deno.Signal | null; stdout: string; stderr: string }>;
}

/** Starts `cmcs args` as tests/helpers/cli.ts does, but leading its own process group. */
function spawnCmcs(p: TestProject, args: string[], env: Record<string, string> = {}): Spawned {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSION_FLAGS, cmcsEntry(), ...args],
    cwd: p.path,
    env: { NO_COLOR: "1", ...p.env, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  const output = child.output().then((out) => ({
    code: out.code,
    signal: out.signal,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  }));
  return { child, output };
}

async function twoTickets(p: TestProject, ...directives: string[]) {
  await p.ticket(
    "TICKET-001.md",
    { title: "Long", agent: "codex", done: false },
    `Do it.\n${directives.join("\n")}\n`,
  );
  await p.ticket("TICKET-002.md", { title: "Never", agent: "codex", done: false });
}

for (
  const [outcome, codex] of [
    ["timeout_idle", { idle_timeout_s: 1, stop_grace_s: 0.5 }],
    ["timeout_total", { timeout_s: 2, stop_grace_s: 0.5 }],
  ] as const
) {
  Deno.test(`${outcome} ends the worker and every command it started`, async () => {
    await using p = await testProject(codex);
    await twoTickets(p, directive("grandchildren", 2));
    const pids = pidsEnv(p);
    const run = await p.cmcs(["run"], { env: pids.env });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const [attempt, ...more] = attempts(p);
    assert.equal(attempt.outcome, outcome);
    assert.equal(more.length, 0, "no further ticket started");
    assert.equal((await readPids(pids.file)).length, 2, "the worker had started its commands");
    await assertNothingLeft(p, attempt, pids.file);
    assert.equal(runs(p)[0].status, "failed");
  });
}

/** Starts `cmcs run` on a two-ticket project and waits until its worker's command runs. */
async function runUntilCommand(
  p: TestProject,
  pidsFile: string,
  env: Record<string, string>,
  commands = 1,
): Promise<{ running: Promise<{ code: number; stdout: string; stderr: string }> }> {
  const running = p.cmcs(["run"], { env, timeoutMs: 60_000 });
  await until("the worker's command", async () => (await readPids(pidsFile)).length >= commands);
  return { running };
}

Deno.test("cmcs stop <path> during a worker's command leaves no process and starts no further ticket", async () => {
  await using p = await testProject({ stop_grace_s: 1 });
  await twoTickets(p, directive("long-command", 300), directive("launcher"));
  const pids = pidsEnv(p);
  const { running } = await runUntilCommand(p, pids.file, pids.env);

  const stop = await p.cmcs(["stop", "."]);
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  const run = await running;
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stdout, /TICKET-001\s+stopped/);

  const [row] = runs(p);
  const [attempt, ...more] = attempts(p);
  assert.equal(row.status, "stopped");
  assert.equal(attempt.outcome, "stopped");
  assert.equal(more.length, 0, "TICKET-002 never started");
  assert.equal(stop.stdout.trim(), `stopped run ${row.id} (TICKET-001.md was running)`);
  const calls = await p.calls();
  assert.equal(calls.length, 1);
  assert.equal(calls[0].via_launcher, true, "the agent ran under a launcher");
  await assertNothingLeft(p, attempt, pids.file);

  const status = JSON.parse((await p.cmcs(["status", "--json"])).stdout);
  assert.equal(status.runs[0].status, "stopped");
  assert.equal((await p.cmcs(["wait"])).code, 1, "wait reports a stopped run as a failure");
  const logs = await p.cmcs(["logs"]);
  assert.match(logs.stdout, /^\$ sleep 300; echo finished$/m, "the command is in the log");
  assert.match(logs.stdout, /^-- stopped: stopped by `cmcs stop`$/m);
});

Deno.test("cmcs stop <run-id> stops that run and prints what the database says", async () => {
  await using p = await testProject({ stop_grace_s: 1 });
  await twoTickets(p, directive("long-command", 300));
  const pids = pidsEnv(p);
  const { running } = await runUntilCommand(p, pids.file, pids.env);

  const stop = await p.cmcs(["stop", "1", "--json"]);
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  await running;
  const printed = JSON.parse(stop.stdout);
  const [row] = runs(p);
  assert.deepEqual(
    [printed.run_id, printed.status, printed.message, printed.ticket, printed.forced],
    [row.id, row.status, row.message, "TICKET-001.md", false],
  );
  assert.equal(row.status, "stopped");
  const [attempt, ...more] = attempts(p);
  assert.equal(attempt.outcome, "stopped");
  assert.equal(more.length, 0);
  await assertNothingLeft(p, attempt, pids.file);
});

Deno.test("cmcs stop ends a worker that ignores SIGINT and SIGTERM, and its grandchildren", async () => {
  await using p = await testProject({ stop_grace_s: 0.5 });
  await twoTickets(p, directive("grandchildren", 2), directive("ignore-sigterm"));
  const pids = pidsEnv(p);
  const { running } = await runUntilCommand(p, pids.file, pids.env, 2);

  const stop = await p.cmcs(["stop", "."]);
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  await running;
  const [attempt] = attempts(p);
  assert.equal(attempt.outcome, "stopped");
  assert.equal(attempt.signal, "SIGKILL", "only SIGKILL ended it");
  assert.equal(runs(p)[0].status, "stopped");
  await assertNothingLeft(p, attempt, pids.file);
});

Deno.test("cmcs stop ends the worker tree itself when the broker does not respond, but never calls a run with a live broker stopped", async () => {
  await using p = await testProject({ stop_grace_s: 0.5 });
  await twoTickets(p, directive("long-command", 300));
  const pids = pidsEnv(p);
  const broker = spawnCmcs(p, ["run"], pids.env);
  try {
    await until("the worker's command", async () => (await readPids(pids.file)).length >= 1);
    broker.child.kill("SIGSTOP");
    const stop = await p.cmcs(["stop", "."]);
    assert.equal(stop.code, 1, stop.stdout + stop.stderr);
    assert.equal(
      stop.stdout.trim(),
      `stop requested for run 1, but its broker (pid ${broker.child.pid}) is still running; ` +
        "cmcs ended the worker itself; the run stays running until the broker ends it " +
        "(see `cmcs status`)",
    );
    const [attempt] = attempts(p);
    assert.equal(attempt.outcome, "stopped");
    await assertNothingLeft(p, attempt, pids.file);
    assert.equal(runs(p)[0].status, "running", "the live broker still owns its run");
    const second = await p.cmcs(["run"]);
    assert.equal(second.code, 1, "no second broker takes the target");
    assert.match(second.stderr, /^error: \.: run 1 is already running there/m);
    broker.child.kill("SIGCONT");
    await broker.output;
  } finally {
    try {
      broker.child.kill("SIGKILL");
    } catch { /* ended */ }
    await broker.output;
  }
  assert.equal(attempts(p).length, 1, "the broker, once resumed, started no further ticket");
  assert.equal((await p.calls()).length, 1);
  assert.deepEqual(runs(p).map((r) => r.status), ["stopped"], "the broker ended its run itself");
});

Deno.test("a stop that lands between two tickets keeps the next one from starting", async () => {
  await using p = await testProject();
  await twoTickets(p);
  // The commit of TICKET-001 records the stop request, exactly as `cmcs stop` does, before it
  // returns: the broker learns of it only after the ticket ended.
  const hook = join(p.path, ".git/hooks/post-commit");
  const script = 'import { DatabaseSync } from "node:sqlite"; ' +
    'const db = new DatabaseSync(".cmcs/cmcs.db"); db.exec("PRAGMA busy_timeout = 5000"); ' +
    'db.prepare("UPDATE runs SET stop_requested_at = ? WHERE status = ?")' +
    '.run(new Date().toISOString(), "running");';
  await Deno.writeTextFile(hook, `#!/bin/sh\nexec "$DENO_BIN" eval '${script}'\n`);
  await Deno.chmod(hook, 0o755);

  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.deepEqual(attempts(p).map((a) => [a.ticket, a.outcome]), [["TICKET-001", "done"]]);
  assert.equal((await p.calls()).length, 1, "TICKET-002 was never dispatched");
  const [row] = runs(p);
  assert.equal(row.status, "stopped");
  assert.match(run.stdout, /^run 1 stopped/m);
});

Deno.test("cmcs stop during the backoff before a retry stops the run and starts no retry", async () => {
  await using p = await testProject({ max_retries: 2, retry_backoff_s: 60 });
  await twoTickets(p, directive("fail"));
  const running = p.cmcs(["run"]);
  await until(
    "the retry to be scheduled",
    () => query<{ id: number }>(p, "SELECT id FROM events WHERE event = 'retry'").length > 0,
  );

  const stop = await p.cmcs(["stop", "."]);
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  assert.equal(stop.stdout.trim(), "stopped run 1 (TICKET-001.md was running)");
  const run = await running;
  assert.equal(run.code, 1);
  const [row] = runs(p);
  assert.equal(row.status, "stopped");
  assert.match(row.message ?? "", /stopped by `cmcs stop`/);
  assert.deepEqual(attempts(p).map((a) => a.outcome), ["worker_failed"], "no retry started");
  assert.equal((await p.calls()).length, 1);
});

Deno.test("cmcs stop exits 1 when nothing is running", async () => {
  await using p = await testProject();
  const none = await p.cmcs(["stop", "."]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^error: nothing is running on \.$/m);

  await p.ticket("TICKET-001.md", { title: "Quick", agent: "codex", done: false });
  assert.equal((await p.cmcs(["run"])).code, 0);
  const ended = await p.cmcs(["stop", "."]);
  assert.equal(ended.code, 1);
  assert.match(ended.stderr, /^error: nothing is running on \./m);
  const byId = await p.cmcs(["stop", "1"]);
  assert.equal(byId.code, 1);
  assert.match(byId.stderr, /^error: run 1 is not running \(it ended as completed\)$/m);
  for (const id of ["42", "0"]) {
    const unknown = await p.cmcs(["stop", id]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, new RegExp(`^error: no run with id ${id}$`, "m"));
  }
  assert.equal(runs(p)[0].status, "completed", "a refused stop changes nothing");
});

Deno.test("Ctrl-C on cmcs run stops the run, ends the worker tree and exits 130", async () => {
  await using p = await testProject({ stop_grace_s: 1 });
  await twoTickets(p, directive("long-command", 300), directive("launcher"));
  const pids = pidsEnv(p);
  const broker = spawnCmcs(p, ["run"], pids.env);
  try {
    await until("the worker's command", async () => (await readPids(pids.file)).length >= 1);
    assert.ok(Number.isInteger(broker.child.pid) && broker.child.pid > 1);
    // The terminal sends SIGINT to the whole foreground process group.
    Deno.kill(-broker.child.pid, "SIGINT");
    const result = await broker.output;
    assert.equal(result.code, 130, result.stdout + result.stderr);
    assert.match(result.stdout, /^run 1 stopped: .*interrupted by SIGINT$/m);
  } finally {
    try {
      broker.child.kill("SIGKILL");
    } catch { /* ended */ }
    await broker.output;
  }
  const [row] = runs(p);
  const [attempt, ...more] = attempts(p);
  assert.equal(row.status, "stopped");
  assert.equal(attempt.outcome, "stopped");
  assert.equal(more.length, 0);
  await assertNothingLeft(p, attempt, pids.file);
});

Deno.test("Ctrl-C while a finished ticket is being committed lets the commit finish, then stops the run", async () => {
  // A stop gives a commit in progress codex.stop_grace_s to finish: far more than this hook takes.
  await using p = await testProject({ stop_grace_s: 60 });
  await twoTickets(p);
  const marker = join(p.stateDir, "committing");
  const hook = join(p.path, ".git/hooks/pre-commit");
  await Deno.writeTextFile(hook, `#!/bin/sh\ntouch '${marker}'\nsleep 2\n`);
  await Deno.chmod(hook, 0o755);
  const broker = spawnCmcs(p, ["run"]);
  try {
    await until("the commit hook to start", async () => {
      try {
        await Deno.stat(marker);
        return true;
      } catch {
        return false;
      }
    });
    Deno.kill(-broker.child.pid, "SIGINT");
    const result = await broker.output;
    assert.equal(result.code, 130, result.stdout + result.stderr);
    assert.doesNotMatch(result.stdout, /auto-commit failed/);
  } finally {
    try {
      broker.child.kill("SIGKILL");
    } catch { /* ended */ }
    await broker.output;
  }
  const subject = new TextDecoder().decode(
    new Deno.Command("git", { args: ["log", "-1", "--format=%s"], cwd: p.path }).outputSync()
      .stdout,
  ).trim();
  assert.equal(subject, "TICKET-001: Long", "the ticket's commit was made");
  assert.deepEqual(attempts(p).map((a) => a.outcome), ["done"], "TICKET-002 never started");
  assert.equal(runs(p)[0].status, "stopped");
});

Deno.test("a command that cannot look at the process table leaves a live run alone", async () => {
  await using p = await testProject();
  await twoTickets(p, directive("hang"));
  const broker = spawnCmcs(p, ["run"]);
  try {
    await until("the worker to start", () => attempts(p)[0]?.worker_pid ? true : null);
    // git is there, but no `cat` (nor `ps`) to read the process table with.
    const bin = await Deno.makeTempDir({ prefix: "cmcs-bin-" });
    const git = new TextDecoder().decode(
      new Deno.Command("sh", { args: ["-c", "command -v git"] }).outputSync().stdout,
    ).trim();
    await Deno.symlink(git, join(bin, "git"));
    const status = await p.cmcs(["status", "--json"], { env: { PATH: bin } });
    await Deno.remove(bin, { recursive: true });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).runs[0].status, "running");
    assert.equal(runs(p)[0].status, "running", "not marked interrupted");
    assert.equal(attempts(p)[0].outcome, null, "its worker was not killed");
    const stop = await p.cmcs(["stop", "."]);
    assert.equal(stop.code, 0, stop.stdout + stop.stderr);
    assert.equal((await broker.output).code, 1);
  } finally {
    try {
      broker.child.kill("SIGKILL");
    } catch { /* ended */ }
    await broker.output;
  }
});

for (const mode of ["hang", "grandchildren"]) {
  Deno.test(`a broker killed with SIGKILL (worker in ${mode}) is marked interrupted by the next status, which ends the worker tree`, async () => {
    await using p = await testProject();
    await twoTickets(p, mode === "hang" ? directive("hang") : directive("grandchildren", 2));
    const pids = pidsEnv(p);
    const broker = spawnCmcs(p, ["run"], pids.env);
    let attempt: AttemptRow;
    try {
      attempt = await until("the worker to start", () => {
        const [first] = attempts(p);
        return first?.worker_pid ? first : undefined;
      });
      if (mode === "grandchildren") {
        await until("the grandchildren", async () => (await readPids(pids.file)).length >= 2);
      } else {
        await until("the worker's first event", () => attempts(p)[0]?.thread_id);
      }
      assert.equal(runs(p)[0].broker_pid, broker.child.pid);
      broker.child.kill("SIGKILL");
      assert.equal((await broker.output).signal, "SIGKILL");
    } finally {
      try {
        broker.child.kill("SIGKILL");
      } catch { /* ended */ }
      await broker.output;
    }
    assert.deepEqual(
      livePids([attempt.worker_pid!]),
      [attempt.worker_pid],
      "the worker outlived its broker",
    );
    assert.equal(runs(p)[0].status, "running", "nothing noticed yet");

    const status = await p.cmcs(["status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stderr, /^note: run 1 is now interrupted: its broker process is gone$/m);
    assert.equal(JSON.parse(status.stdout).runs[0].status, "interrupted");
    const [row] = runs(p);
    assert.equal(row.status, "interrupted");
    const [closed, ...more] = attempts(p);
    assert.notEqual(closed.outcome, null, "the attempt is closed");
    assert.equal(more.length, 0);
    await assertNothingLeft(p, closed, pids.file);
    const waited = await p.cmcs(["wait"]);
    assert.equal(waited.code, 1, "wait reports an interrupted run as a failure");
    assert.match(waited.stdout, /interrupted/);
  });
}
