/**
 * Never lose work: the broker is SIGKILLed at every step of an attempt (CMCS_TEST_CRASH_AT, and a
 * git hook for the middle of the commit), its database is write-locked past the busy timeout, and
 * its disk fills up. After each fault the next command's recovery must leave the database, git,
 * the ticket files and the process table in agreement, keep every user edit, and the next
 * `cmcs run` must commit the ticket's work exactly once — never skip it as done.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AttemptRow } from "../src/core/db/types.ts";
import { CRASH_STEPS } from "../src/core/runner/crash_point.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { attempts, runs, until } from "./helpers/runs.ts";
import { livePids } from "./helpers/procs.ts";

const WORK = "src/work.txt";
const USER_EDIT = "notes.txt";

/**
 * A project with two tickets (the first writes {@link WORK}, and claims done early and then waits
 * for `release` to exist) and a user's uncommitted edit that must survive everything untouched.
 */
async function crashProject(
  extraConfig: Record<string, unknown> = {},
): Promise<{ p: TestProject; release: string }> {
  const p = await testProject({}, extraConfig);
  const release = join(p.stateDir, "release");
  await p.ticket(
    "TICKET-001.md",
    { title: "Write the work", agent: "codex", done: false },
    "## Goal\nWrite it.\n\n" +
      `<!-- fake-codex: write ${WORK} the work -->\n` +
      "<!-- fake-codex: done-early -->\n" +
      `<!-- fake-codex: wait-file ${release} -->\n`,
  );
  await p.ticket(
    "TICKET-002.md",
    { title: "Second", agent: "codex", done: false },
    "## Goal\nMore.\n\n<!-- fake-codex: write src/second.txt second -->\n",
  );
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "tickets");
  await Deno.writeTextFile(join(p.path, USER_EDIT), "the user's own edit\n");
  return { p, release };
}

async function ticketDone(p: TestProject, name: string): Promise<boolean> {
  const text = await Deno.readTextFile(join(p.path, ".cmcs/tickets", name));
  return /^done: true$/m.test(text);
}

/** Commits whose message names TICKET-001, newest first. */
async function ticketCommits(p: TestProject): Promise<string[]> {
  const out = await gitIn(p.path, "log", "--format=%H", "--grep=^TICKET-001");
  return out.split("\n").filter(Boolean);
}

async function trailerOf(p: TestProject, commit: string): Promise<string> {
  return (await gitIn(p.path, "log", "-1", "--format=%(trailers:key=Cmcs-Attempt)", commit)).trim();
}

/** The checks every fault shares, once recovery has run. */
async function assertSettled(p: TestProject): Promise<AttemptRow> {
  const [run] = runs(p);
  assert.equal(run.status, "interrupted");
  assert.match(run.message ?? "", /broker process \d+ is gone/);
  const rows = attempts(p);
  assert.ok(rows.length >= 1);
  for (const row of rows) {
    assert.notEqual(row.outcome, null, `attempt ${row.id} is closed`);
    assert.equal(row.commit_pending, null, `attempt ${row.id} has no commit pending`);
  }
  const attempt = rows.at(-1)!;
  if (attempt.worker_pid) {
    await until("the worker to be gone", () => livePids([attempt.worker_pid!]).length === 0, 10_000)
      .catch(() => {});
    assert.deepEqual(livePids([attempt.worker_pid]), [], "no worker is left running");
  }
  assert.equal(
    await Deno.readTextFile(join(p.path, USER_EDIT)),
    "the user's own edit\n",
    "the user's edit is untouched",
  );
  assert.match(await gitIn(p.path, "status", "--porcelain"), /\?\? notes\.txt/);
  return attempt;
}

/** The next run does the right thing: TICKET-001's work ends in exactly one commit, then TICKET-002. */
async function assertNextRunFinishes(p: TestProject, release: string): Promise<void> {
  await Deno.writeTextFile(release, "");
  const next = await p.cmcs(["run"]);
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.ok(await ticketDone(p, "TICKET-001.md"));
  assert.ok(await ticketDone(p, "TICKET-002.md"));
  const commits = await ticketCommits(p);
  assert.equal(commits.length, 1, "TICKET-001 is committed exactly once");
  assert.equal(
    await gitIn(p.path, "show", `${commits[0]}:${WORK}`),
    "the work\n",
    "the commit holds the ticket's work",
  );
  assert.match(await gitIn(p.path, "status", "--porcelain"), /^\?\? notes\.txt\n$/);
}

/** What recovery must have made of TICKET-001 after a crash at each step. */
const EXPECTED: Record<string, "reopened" | "not-started" | "committed"> = {
  "before-spawn": "not-started",
  "worker-running": "reopened",
  "after-worker": "reopened",
  "before-commit": "committed",
  "after-commit": "committed",
};

for (const step of CRASH_STEPS) {
  Deno.test(`a broker killed at ${step} loses no work: recovery settles the run and the next run commits the ticket once`, async () => {
    const { p, release } = await crashProject();
    await using _ = p;
    // The worker waits for the release only when the crash is meant to find it running.
    if (step !== "worker-running") await Deno.writeTextFile(release, "");
    const crashed = await p.cmcs(["run"], { env: { CMCS_TEST_CRASH_AT: step } });
    assert.equal(crashed.code, 137, `killed by SIGKILL: ${crashed.stderr}`);
    assert.equal(runs(p)[0].status, "running", "the crash left the run running");

    const status = await p.cmcs(["status"]);
    assert.equal(status.code, 0, status.stderr);
    const attempt = await assertSettled(p);
    const expected = EXPECTED[step];
    if (expected === "committed") {
      const [commit] = await ticketCommits(p);
      assert.ok(commit, "TICKET-001's work is committed");
      assert.equal(attempt.outcome, "done");
      assert.equal(attempt.commit_after, commit, "the attempt records the commit");
      assert.equal(await trailerOf(p, commit), `Cmcs-Attempt: ${attempt.run_id}/${attempt.id}`);
      assert.ok(await ticketDone(p, "TICKET-001.md"));
      const diff = await p.cmcs(["diff", ".", "TICKET-001", "--stat"]);
      assert.match(diff.stdout, /src\/work\.txt/, "cmcs diff shows the recovered commit");
    } else {
      assert.equal(attempt.outcome, "worker_failed");
      assert.equal(await ticketCommits(p).then((c) => c.length), 0);
      assert.equal(await ticketDone(p, "TICKET-001.md"), false, "the ticket is open again");
      // Killed at its first event, the worker may or may not get as far as claiming the ticket.
      if (expected === "reopened" && step !== "worker-running") {
        assert.match(attempt.warnings ?? "", /set back to done: false/);
        assert.match(runs(p)[0].message ?? "", /TICKET-001: .*set back to done: false/);
      }
    }
    await assertNextRunFinishes(p, release);
  });
}

Deno.test("a broker killed while git commits (from a pre-commit hook) leaves a commit that recovery records", async () => {
  const { p, release } = await crashProject();
  await using _ = p;
  await Deno.writeTextFile(release, "");
  const marker = join(p.stateDir, "hook-fired");
  const finishCommit = join(p.stateDir, "finish-commit");
  // The hook's parent is git, and git's parent is the broker; git lives in a session of its own,
  // so it goes on after the broker is gone — here only once recovery has started, so recovery
  // meets the commit half made. Only the first commit is interrupted.
  const hook = join(p.path, ".git/hooks/pre-commit");
  await Deno.writeTextFile(
    hook,
    `#!/bin/sh\n[ -e '${marker}' ] && exit 0\ntouch '${marker}'\n` +
      `kill -9 "$(ps -o ppid= -p "$PPID" | tr -d ' ')"\n` +
      `while [ ! -e '${finishCommit}' ]; do sleep 0.05; done\nexit 0\n`,
  );
  await Deno.chmod(hook, 0o755);
  const crashed = await p.cmcs(["run"]);
  assert.equal(crashed.code, 137, crashed.stderr);

  const recovering = p.cmcs(["result", ".", "TICKET-001"]);
  await until("recovery to start", () => runs(p)[0].status === "interrupted");
  await Deno.writeTextFile(finishCommit, "");
  const result = await recovering;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /src\/work\.txt/, "cmcs result lists the recovered commit's file");
  const attempt = await assertSettled(p);
  const commits = await ticketCommits(p);
  assert.equal(commits.length, 1, "one commit: recovery did not commit the work again");
  const [commit] = commits;
  assert.equal(attempt.commit_after, commit);
  assert.match(attempt.warnings ?? "", /died after committing/);
  await assertNextRunFinishes(p, release);
});

Deno.test("recovery's commit of a dead broker's pending work is bounded by the project's git.timeout_s: a hanging hook leaves the ticket open, not the next command stuck", async () => {
  const { p, release } = await crashProject({ git: { timeout_s: 1 } });
  await using _ = p;
  await Deno.writeTextFile(release, "");
  const crashed = await p.cmcs(["run"], { env: { CMCS_TEST_CRASH_AT: "before-commit" } });
  assert.equal(crashed.code, 137, crashed.stderr);
  // Installed after the crash: the commit recovery makes is the one that meets it.
  const pidFile = join(p.stateDir, "hook.pid");
  const hook = join(p.path, ".git/hooks/pre-commit");
  await Deno.writeTextFile(
    hook,
    `#!/bin/sh\ntrap '' TERM\necho $$ > '${pidFile}'\nexec sleep 100000\n`,
  );
  await Deno.chmod(hook, 0o755);

  // Far below the default bound (600 s): only the project's 1 s lets status finish in time.
  const status = await p.cmcs(["status"], { timeoutMs: 45_000 });
  assert.equal(status.code, 0, status.stderr);
  const attempt = await assertSettled(p);
  assert.match(
    attempt.warnings ?? "",
    /committing now failed: .*did not finish within 1s/,
    "the attempt says why its work is not committed",
  );
  assert.equal(
    attempt.outcome,
    "commit_failed",
    "the attempt is not done: its work is uncommitted",
  );
  assert.match(status.stdout, /^run 1 interrupted: .*committing now failed/m);
  assert.doesNotMatch(status.stdout, /awaiting review/, "nothing uncommitted awaits review");
  assert.equal(await ticketCommits(p).then((c) => c.length), 0);
  assert.equal(await ticketDone(p, "TICKET-001.md"), false, "the ticket is open again");
  const hookPid = Number((await Deno.readTextFile(pidFile)).trim());
  await until("the hook to be gone", () => livePids([hookPid]).length === 0, 10_000)
    .catch(() => {});
  assert.deepEqual(livePids([hookPid]), [], "the hanging hook was ended");

  await Deno.remove(hook);
  await assertNextRunFinishes(p, release);
});

/**
 * Holds `BEGIN IMMEDIATE` on `db` from another process until its stdin closes; resolves once the
 * lock is held.
 */
async function holdWriteLock(db: string): Promise<{ release(): Promise<void> }> {
  const script = `
    import { DatabaseSync } from "node:sqlite";
    const db = new DatabaseSync(${JSON.stringify(db)});
    db.exec("BEGIN IMMEDIATE");
    console.log("locked");
    for await (const _ of Deno.stdin.readable) { /* until the test closes stdin */ }
    db.exec("ROLLBACK");
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("locked")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the lock holder exited before locking");
    seen += value;
  }
  return {
    async release() {
      await child.stdin.close();
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      await child.status;
    },
  };
}

Deno.test("a database write-locked past the busy timeout ends the run with one error line; recovery re-opens the ticket and the next run commits its work", async () => {
  const { p, release } = await crashProject();
  await using _ = p;
  const running = p.cmcs(["run"], { env: { CMCS_BUSY_TIMEOUT_MS: "100" } });
  await until("the worker to be running", () => attempts(p)[0]?.thread_id);
  const lock = await holdWriteLock(join(p.path, ".cmcs/cmcs.db"));
  let out;
  try {
    await Deno.writeTextFile(release, "");
    out = await running;
  } finally {
    await lock.release();
  }
  assert.equal(out.code, 1, out.stdout + out.stderr);
  assert.match(
    out.stderr,
    /^error: the cmcs database .*cmcs\.db stayed locked .*database is locked$/m,
  );
  assert.doesNotMatch(out.stderr, /^\s+at /m, "no stack trace");
  assert.equal(out.stderr.match(/^error:/gm)?.length, 1, out.stderr);
  assert.ok(await ticketDone(p, "TICKET-001.md"), "the worker had set done: true");

  const status = await p.cmcs(["status"]);
  assert.equal(status.code, 0, status.stderr);
  const attempt = await assertSettled(p);
  assert.equal(attempt.outcome, "worker_failed");
  assert.equal(await ticketDone(p, "TICKET-001.md"), false, "re-opened, not skipped as done");
  assert.equal(await Deno.readTextFile(join(p.path, WORK)), "the work\n", "the work is kept");
  await assertNextRunFinishes(p, release);
});

Deno.test("a ticket title with a NUL byte or of 7 MB is committed with its message through a file, not the command line", async () => {
  const p = await testProject();
  await using _ = p;
  const long = "x".repeat(7 * 1024 * 1024);
  await Deno.writeTextFile(
    join(p.path, ".cmcs/tickets/TICKET-001.md"),
    `---\ntitle: "Fix the\\0parser"\nagent: codex\ndone: false\n---\n\n## Goal\nIt.\n\n` +
      "<!-- fake-codex: write src/a.txt a -->\n",
  );
  await Deno.writeTextFile(
    join(p.path, ".cmcs/tickets/TICKET-002.md"),
    `---\ntitle: ${long}\nagent: codex\ndone: false\n---\n\n## Goal\nIt.\n\n` +
      "<!-- fake-codex: write src/b.txt b -->\n",
  );
  const out = await p.cmcs(["run"]);
  assert.equal(out.code, 0, out.stdout + out.stderr.slice(0, 2000));
  assert.doesNotMatch(out.stderr, /^\s+at /m, "no stack trace");
  const subjects = (await gitIn(p.path, "log", "-2", "--format=%s")).split("\n");
  assert.equal(subjects[1], "TICKET-001: Fix theparser");
  assert.equal(subjects[0], `TICKET-002: ${long}`);
  const [first] = attempts(p);
  assert.match(first.warnings ?? "", /NUL bytes/);
  assert.ok(first.commit_after);
});

/** Mounts a tmpfs of `size` at `dir`; false when this machine does not allow it (not root, no mount). */
async function mountTmpfs(dir: string, size: string): Promise<boolean> {
  await Deno.mkdir(dir, { recursive: true });
  try {
    const out = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Fills the file system holding `dir` until it refuses another byte. */
async function fillUp(dir: string): Promise<void> {
  using file = await Deno.open(join(dir, "filler"), { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024);
  try {
    while (true) await file.write(chunk);
  } catch { /* full */ }
  for (let size = 4096; size >= 1; size = Math.floor(size / 2)) {
    try {
      while (true) await file.write(new Uint8Array(size));
    } catch { /* full at this size */ }
  }
}

/**
 * Disk faults under the database: how to make one, undo it, and the error it must give. (A disk
 * gone read-only cannot be made here: a tmpfs with the database open for writing refuses to be
 * remounted read-only.)
 */
const DISK_FAULTS = [
  {
    name: "a full disk",
    cause: /^error: cannot write the cmcs database .*: database or disk is full$/m,
    make: (mount: string) => fillUp(mount),
    undo: (mount: string) => Deno.remove(join(mount, "filler")),
  },
];

for (const fault of DISK_FAULTS) {
  Deno.test(`${fault.name} under the database ends the run with its real cause, not 'cannot rollback'; recovery re-opens the ticket and the next run commits its work`, async () => {
    const { p, release } = await crashProject();
    await using _ = p;
    const mount = join(p.stateDir, "disk");
    if (!await mountTmpfs(mount, "2m")) {
      console.log("skipped: this machine does not allow mounting a tmpfs (needs root)");
      return;
    }
    try {
      // The database (and, through the link, its WAL) lives on the small disk; tickets, logs and
      // the work stay on the big one, so only the database is hit.
      const db = join(p.path, ".cmcs/cmcs.db");
      await Deno.copyFile(db, join(mount, "cmcs.db"));
      await Deno.remove(db);
      await Deno.symlink(join(mount, "cmcs.db"), db);

      const running = p.cmcs(["run"]);
      await until(
        "the worker to claim the ticket",
        async () => attempts(p)[0]?.thread_id && await ticketDone(p, "TICKET-001.md"),
      );
      await fault.make(mount);
      await Deno.writeTextFile(release, "");
      const out = await running;
      await fault.undo(mount);

      assert.equal(out.code, 1, out.stdout + out.stderr);
      assert.match(out.stderr, fault.cause);
      assert.doesNotMatch(out.stderr, /cannot rollback/);
      assert.doesNotMatch(out.stderr, /^\s+at /m, "no stack trace");

      const status = await p.cmcs(["status"]);
      assert.equal(status.code, 0, status.stderr);
      await assertSettled(p);
      assert.equal(await ticketDone(p, "TICKET-001.md"), false, "re-opened, not skipped as done");
      await assertNextRunFinishes(p, release);
    } finally {
      await new Deno.Command("umount", { args: ["-l", mount], stdin: "null", stderr: "null" })
        .output();
    }
  });
}
