/**
 * Faults in the external steps cmcs runs besides the worker: a git hook that hangs in the
 * auto-commit, a worktree setup or archive command that never ends. Each step is bounded and
 * stoppable: it ends within its time bound or at a stop, with nothing of it left in the process
 * table, a clear message, the ticket's work kept, and one broker per target throughout.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runStep } from "../src/core/bounded_step.ts";
import { cmcsEntry, PERMISSION_FLAGS } from "./helpers/cli.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn, tempDir } from "./helpers/repo.ts";
import { attempts, runs, until } from "./helpers/runs.ts";

/** True while `pid` is a live (non-zombie) process, from `ps`. */
async function alive(pid: number): Promise<boolean> {
  const ps = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] }).output();
  const stat = new TextDecoder().decode(ps.stdout).trim();
  return ps.code === 0 && stat !== "" && !stat.startsWith("Z");
}

/** Waits for `pid` to leave the process table (a SIGKILLed process may take a moment). */
async function assertGone(pid: number, what: string): Promise<void> {
  await until(`${what} (pid ${pid}) to be gone`, async () => !(await alive(pid)), 5_000)
    .catch(() => {});
  assert.equal(await alive(pid), false, `${what} (pid ${pid}) is still alive`);
}

/** The pid a hanging command wrote to `file`, once it did. */
async function pidFrom(file: string): Promise<number> {
  return await until(`a pid in ${file}`, async () => {
    try {
      const pid = Number((await Deno.readTextFile(file)).trim());
      return Number.isInteger(pid) && pid > 1 ? pid : null;
    } catch {
      return null;
    }
  });
}

/** A shell snippet that notes its pid in `pidFile` and then never ends on its own. */
const hang = (pidFile: string) => `echo $$ > ${pidFile}; exec sleep 100000`;

/**
 * Installs a git hook `name` in the project's repository that hangs (see {@link hang}), with
 * `ignoreTerm` one that ignores SIGTERM too. Returns the file its pid is written to.
 */
async function hangingHook(p: TestProject, name: string, ignoreTerm = false): Promise<string> {
  const pidFile = join(p.stateDir, `${name}.pid`);
  const hook = join(p.path, ".git/hooks", name);
  const trap = ignoreTerm ? "trap '' TERM\n" : "";
  await Deno.writeTextFile(hook, `#!/bin/sh\n${trap}${hang(`'${pidFile}'`)}\n`);
  await Deno.chmod(hook, 0o755);
  return pidFile;
}

async function twoTickets(p: TestProject): Promise<void> {
  await p.ticket("TICKET-001.md", { title: "Hooked", agent: "codex", done: false });
  await p.ticket("TICKET-002.md", { title: "Next", agent: "codex", done: false });
}

/**
 * The work of TICKET-001 is on disk, uncommitted; HEAD is where it was; git holds no lock; and the
 * ticket is open again (`done: false`), so no later run skips it as done.
 */
async function assertWorkKept(p: TestProject, head: string): Promise<void> {
  assert.equal(await gitIn(p.path, "rev-parse", "HEAD"), head, "no commit was made");
  assert.match(await gitIn(p.path, "status", "--porcelain"), /fake-output\//);
  await assert.rejects(Deno.stat(join(p.path, ".git/index.lock")), Deno.errors.NotFound);
  assert.match(
    await Deno.readTextFile(join(p.path, ".cmcs/tickets/TICKET-001.md")),
    /^done: false$/m,
    "the ticket is re-opened",
  );
}

Deno.test("a pre-commit hook that hangs (ignoring SIGTERM) is ended after git.timeout_s: the work stays uncommitted and the attempt says why", async () => {
  await using p = await testProject({}, { git: { timeout_s: 1 } });
  await p.ticket("TICKET-001.md", { title: "Hooked", agent: "codex", done: false });
  const pidFile = await hangingHook(p, "pre-commit", true);
  const head = await gitIn(p.path, "rev-parse", "HEAD");

  const result = await p.cmcs(["run"]);
  // A commit that failed, for whatever reason, fails the ticket as commit_failed (as a hook
  // exiting 1 does) and re-opens it.
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const said =
    /auto-commit failed, changes left uncommitted: git commit failed: .*git commit did not finish within 1s \(a hook that hangs\?\) and was ended/;
  assert.match(result.stdout, said);
  const [attempt] = attempts(p);
  assert.equal(attempt.outcome, "commit_failed");
  assert.match(attempt.message ?? "", said);
  assert.match(attempt.warnings ?? "", /set back to done: false/);
  await assertGone(await pidFrom(pidFile), "the pre-commit hook");
  await assertWorkKept(p, head);
  assert.equal(runs(p)[0].status, "failed");
});

Deno.test("cmcs stop during a hanging pre-commit hook ends the hook and the run, and a second run meanwhile is refused", async () => {
  await using p = await testProject({ stop_grace_s: 0.5 });
  await twoTickets(p);
  const pidFile = await hangingHook(p, "pre-commit");
  const head = await gitIn(p.path, "rev-parse", "HEAD");

  const running = p.cmcs(["run"]);
  const hookPid = await pidFrom(pidFile);
  const second = await p.cmcs(["run"]);
  assert.equal(second.code, 1, second.stdout + second.stderr);
  assert.match(second.stderr, /^error: \.: run 1 is already running there \(broker pid \d+\)$/m);

  const stop = await p.cmcs(["stop", "."]);
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  assert.equal(stop.stdout.trim(), "stopped run 1 (TICKET-001.md was running)");
  const run = await running;
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /git commit was ended by a stop/);

  assert.deepEqual(runs(p).map((r) => r.status), ["stopped"], "one run, ended by its broker");
  const [attempt, ...more] = attempts(p);
  assert.equal(more.length, 0, "TICKET-002 never started");
  assert.equal(attempt.outcome, "commit_failed");
  assert.match(attempt.message ?? "", /auto-commit failed.*ended by a stop/);
  await assertGone(hookPid, "the pre-commit hook");
  await assertWorkKept(p, head);
});

Deno.test("SIGTERM to the broker during a hanging commit-msg hook ends the hook and the run", async () => {
  await using p = await testProject({ stop_grace_s: 0.5 });
  await twoTickets(p);
  const pidFile = await hangingHook(p, "commit-msg");
  const head = await gitIn(p.path, "rev-parse", "HEAD");
  const broker = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSION_FLAGS, cmcsEntry(), "run"],
    cwd: p.path,
    env: { NO_COLOR: "1", ...p.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = broker.output();
  try {
    const hookPid = await pidFrom(pidFile);
    broker.kill("SIGTERM");
    const result = await output;
    const text = new TextDecoder().decode(result.stdout);
    assert.equal(result.code, 130, text);
    assert.match(text, /^run 1 stopped: .*interrupted by SIGTERM$/m);
    await assertGone(hookPid, "the commit-msg hook");
  } finally {
    try {
      broker.kill("SIGKILL");
    } catch { /* ended */ }
    await output;
  }
  assert.equal(runs(p)[0].status, "stopped");
  assert.deepEqual(attempts(p).map((a) => a.outcome), ["commit_failed"]);
  await assertWorkKept(p, head);
});

Deno.test("a setup and an archive command that hang are ended after worktrees.timeout_s", async () => {
  const inMain = (name: string) => `"$CMCS_MAIN/.git/${name}"`;
  await using p = await testProject({}, {
    worktrees: {
      setup: hang(inMain("setup.pid")),
      archive: hang(inMain("archive.pid")),
      timeout_s: 1,
    },
  });
  const setupPid = join(p.path, ".git/setup.pid");
  const archivePid = join(p.path, ".git/archive.pid");
  const created = await p.cmcs(["worktree", "create", "stuck"]);
  assert.equal(created.code, 1, created.stdout + created.stderr);
  assert.match(created.stderr, /^error: the setup command failed \(timed out after 1s\): /m);
  await assertGone(await pidFrom(setupPid), "the setup command");

  const cleanup = await p.cmcs(["worktree", "cleanup", "stuck"]);
  assert.equal(cleanup.code, 1, cleanup.stdout + cleanup.stderr);
  assert.match(cleanup.stderr, /the archive command failed \(timed out after 1s; /);
  await assertGone(await pidFrom(archivePid), "the archive command");
});

Deno.test("Ctrl-C on cmcs worktree create during a setup that hangs ends the setup and exits 130", async () => {
  await using p = await testProject({}, {
    worktrees: { setup: hang(`"$CMCS_MAIN/.git/setup.pid"`) },
  });
  const pidFile = join(p.path, ".git/setup.pid");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSION_FLAGS, cmcsEntry(), "worktree", "create", "stuck"],
    cwd: p.path,
    env: { NO_COLOR: "1", ...p.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  const output = child.output();
  try {
    const setupPid = await pidFrom(pidFile);
    // The terminal sends SIGINT to cmcs's process group; the setup has a session of its own.
    Deno.kill(-child.pid, "SIGINT");
    const result = await output;
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 130, stderr);
    assert.match(stderr, /^error: the setup command failed \(ended by a stop\): /m);
    assert.match(stderr, /^hint: the worktree is kept at .*worktrees\/stuck for inspection/m);
    await assertGone(setupPid, "the setup command");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
    await output;
  }
});

Deno.test("runStep() lets a step finish within its patience after a stop, and ends one that outlasts it with its whole group", async () => {
  await using dir = await tempDir();
  const stop = new AbortController();
  stop.abort();
  const finishing = await runStep(
    { command: "sh", args: ["-c", "echo committed"], cwd: dir.path },
    { signal: stop.signal, patienceS: 60 },
  );
  assert.equal(finishing.endedBy, null);
  assert.equal(finishing.code, 0);
  assert.equal(new TextDecoder().decode(finishing.stdout), "committed\n");

  const pidFile = join(dir.path, "child.pid");
  const later = new AbortController();
  const hung = runStep({
    command: "sh",
    args: ["-c", `sleep 100000 & echo $! > '${pidFile}'; wait`],
    cwd: dir.path,
  }, { signal: later.signal, patienceS: 0 });
  const child = await pidFrom(pidFile);
  later.abort();
  const ended = await hung;
  assert.equal(ended.endedBy, "stop");
  assert.equal(ended.code, null, "killed by a signal");
  await assertGone(child, "the step's background child");
});
