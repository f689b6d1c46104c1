/**
 * `cmcs worktree cleanup` never loses a commit: it decides by reachability (whatever the base and
 * branch are called, detached HEADs included), holds the target's run lock from its first check to
 * the removal and looks again right before removing, and even `--force` keeps what it discards
 * under `refs/cmcs/saved/…` with a restore command that works. Real repositories, worktrees,
 * runs and archive commands throughout.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeTicket } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { until } from "./helpers/runs.ts";
import { isAlive } from "../src/core/process_tree.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

async function created(p: TestProject, branch: string): Promise<string> {
  const result = await p.cmcs(["worktree", "create", branch]);
  assert.equal(result.code, 0, result.stderr);
  return join(p.path, "worktrees", ...branch.split("/"));
}

async function commitFile(dir: string, file: string, text: string): Promise<string> {
  await Deno.writeTextFile(join(dir, file), text);
  await gitIn(dir, "add", file);
  await gitIn(dir, "commit", "-q", "-m", `add ${file}`);
  return (await gitIn(dir, "rev-parse", "HEAD")).trim();
}

/** True when git still has `commit` and some ref or HEAD reaches it. */
async function reachable(p: TestProject, commit: string): Promise<boolean> {
  const out = await gitIn(p.path, "for-each-ref", "--contains", commit, "--format=%(refname)");
  return out.trim() !== "";
}

/**
 * An archive command that announces it started (writes cmcs's pid and its own to `$CLEANUP_MARK`)
 * and then waits until the test creates `$CLEANUP_GO`: the test acts while the cleanup is in the
 * middle of its work. It also ends once the test's state folder is gone, so a failed test never
 * leaves it waiting forever.
 */
const WAITING_ARCHIVE =
  'echo "$PPID $$" > "$CLEANUP_MARK.tmp" && mv "$CLEANUP_MARK.tmp" "$CLEANUP_MARK"; ' +
  'while [ ! -e "$CLEANUP_GO" ] && [ -d "$(dirname "$CLEANUP_GO")" ]; do sleep 0.05; done; ' +
  "echo archived";

function pausedCleanup(p: TestProject, branch: string, ...flags: string[]) {
  const mark = join(p.stateDir, "archive-started");
  const go = join(p.stateDir, "archive-go");
  const result = p.cmcs(["worktree", "cleanup", branch, ...flags], {
    env: { CLEANUP_MARK: mark, CLEANUP_GO: go },
  });
  return {
    result,
    /** Waits for the archive command; returns the pids of cmcs and of the archive's shell. */
    started: async () => {
      await until("the archive command to start", () => exists(mark));
      const [cmcsPid, shellPid] = (await Deno.readTextFile(mark)).trim().split(" ").map(Number);
      return { cmcsPid, shellPid };
    },
    resume: () => Deno.writeTextFile(go, ""),
  };
}

Deno.test("cleanup refuses when worktrees.base is the worktree's own branch and it has unique commits", async () => {
  await using p = await testProject({}, { worktrees: { base: "feat/self" } });
  await gitIn(p.path, "branch", "feat/self");
  const path = await created(p, "feat/self");
  const commit = await commitFile(path, "own.txt", "only here\n");

  const refused = await p.cmcs(["worktree", "cleanup", "feat/self"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error: not removing worktrees\/feat\/self .*1 commit\(s\)/m);
  assert.match(refused.stderr, /^ {4}[0-9a-f]+ add own\.txt$/m);
  assert.match(refused.stderr, /^hint: .*--force/m);
  assert.ok(await exists(join(path, "own.txt")));
  assert.equal((await gitIn(p.path, "rev-parse", "feat/self")).trim(), commit);
});

Deno.test("cleanup refuses a worktree whose detached HEAD carries commits no ref reaches", async () => {
  await using p = await testProject();
  const path = await created(p, "det");
  await gitIn(path, "checkout", "-q", "--detach");
  const commit = await commitFile(path, "loose.txt", "detached work\n");

  const refused = await p.cmcs(["worktree", "cleanup", "det", "--json"]);
  assert.equal(refused.code, 1);
  const report = JSON.parse(refused.stdout);
  assert.equal(report.removed, false);
  assert.equal(report.unreachable_commits.length, 1);
  assert.match(report.unreachable_commits[0], /add loose\.txt$/);
  assert.ok(await exists(join(path, "loose.txt")));
  assert.equal((await gitIn(path, "rev-parse", "HEAD")).trim(), commit);
});

Deno.test("commits that a tag, a remote-tracking ref or another worktree's HEAD still reaches do not block a cleanup", async () => {
  await using p = await testProject();
  const tagged = await created(p, "tagged");
  const byTag = await commitFile(tagged, "t.txt", "t\n");
  await gitIn(p.path, "tag", "keep-it", byTag);
  const pushed = await created(p, "pushed");
  const byRemote = await commitFile(pushed, "r.txt", "r\n");
  await gitIn(p.path, "update-ref", "refs/remotes/origin/pushed", byRemote);

  const shared = await created(p, "shared");
  const byWorktree = await commitFile(shared, "s.txt", "s\n");
  const other = await created(p, "other");
  await gitIn(other, "checkout", "-q", "--detach", byWorktree);

  for (const branch of ["tagged", "pushed", "shared"]) {
    const result = await p.cmcs(["worktree", "cleanup", branch]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^removed worktree worktrees/${branch} and branch`, "m"),
    );
  }
  assert.ok(await reachable(p, byTag));
  assert.ok(await reachable(p, byRemote));
  assert.equal((await gitIn(other, "rev-parse", "HEAD")).trim(), byWorktree);
  const last = await p.cmcs(["worktree", "cleanup", "other"]);
  assert.equal(last.code, 1, "now only the other worktree's HEAD reaches that commit");
  assert.match(last.stderr, /^ {4}[0-9a-f]+ add s\.txt$/m);
});

Deno.test("a run started while cleanup is busy in its archive command is refused, and nothing is lost", async () => {
  await using p = await testProject({}, { worktrees: { archive: WAITING_ARCHIVE } });
  const path = await created(p, "race");
  await writeTicket(path, "TICKET-001.md", {
    title: "late work",
    directives: [["write", "late.txt", "x"]],
  });
  await gitIn(path, "add", "-A");
  await gitIn(path, "commit", "-q", "-m", "ticket");
  await gitIn(p.path, "merge", "-q", "--ff-only", "race");
  const before = (await gitIn(path, "rev-parse", "HEAD")).trim();

  const cleanup = pausedCleanup(p, "race");
  await cleanup.started();
  const run = await p.cmcs(["run", path]);
  assert.notEqual(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout + run.stderr, /already running there/);
  assert.equal((await gitIn(path, "rev-parse", "HEAD")).trim(), before, "the run made no commit");
  const status = JSON.parse((await p.cmcs(["status", "--json"])).stdout);
  assert.ok(JSON.stringify(status).includes("cmcs worktree cleanup"), "status names the holder");
  const second = await p.cmcs(["worktree", "cleanup", "race", "--force"]);
  assert.equal(second.code, 1);
  assert.match(
    second.stderr,
    /^error: another `cmcs worktree cleanup` \(pid \d+\) is busy with worktrees\/race$/m,
  );

  await cleanup.resume();
  const done = await cleanup.result;
  assert.equal(done.code, 0, done.stderr);
  assert.ok(!(await exists(path)));
  const left = JSON.parse((await p.cmcs(["status", "--json"])).stdout);
  assert.ok(!JSON.stringify(left).includes("cmcs worktree cleanup"), "the hold leaves no run");
});

Deno.test("a commit made while cleanup is busy in its archive command makes it refuse before removing anything", async () => {
  await using p = await testProject({}, { worktrees: { archive: WAITING_ARCHIVE } });
  const path = await created(p, "late");
  const cleanup = pausedCleanup(p, "late", "--json");
  await cleanup.started();
  const commit = await commitFile(path, "late.txt", "made during the archive\n");
  await cleanup.resume();

  const refused = await cleanup.result;
  assert.equal(refused.code, 1);
  const report = JSON.parse(refused.stdout);
  assert.equal(report.removed, false);
  assert.equal(report.archive.ok, true);
  assert.match(report.refused, /1 commit\(s\).*changed while it was being cleaned up/);
  assert.ok(await exists(join(path, "late.txt")));
  assert.equal((await gitIn(p.path, "rev-parse", "late")).trim(), commit);
});

Deno.test("--force saves commits and uncommitted files under refs/cmcs/saved and the printed restore command brings them back", async () => {
  await using p = await testProject();
  const path = await created(p, "feat/drop");
  const commit = await commitFile(path, "kept.txt", "committed\n");
  await Deno.writeTextFile(join(path, "draft.txt"), "untracked draft\n");
  await Deno.writeTextFile(join(path, "kept.txt"), "edited, not committed\n");

  const forced = await p.cmcs(["worktree", "cleanup", "feat/drop", "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.ok(!(await exists(path)));
  const restore = forced.stdout.match(/^ {2}(git branch \S+ (refs\/cmcs\/saved\/\S+))$/m);
  assert.ok(restore, forced.stdout);
  assert.ok(await reachable(p, commit), "the commit survives under the saved ref");

  const [, command, ref] = restore;
  await gitIn(p.path, ...command.split(" ").slice(1));
  assert.equal(await gitIn(p.path, "show", "feat/drop:draft.txt"), "untracked draft\n");
  assert.equal(await gitIn(p.path, "show", "feat/drop:kept.txt"), "edited, not committed\n");
  assert.equal(await gitIn(p.path, "show", "feat/drop~1:kept.txt"), "committed\n");
  assert.equal((await gitIn(p.path, "rev-parse", "feat/drop~1")).trim(), commit);

  // A second forced cleanup of the same branch gets a ref of its own; the first one stays.
  const again = await created(p, "feat/drop");
  await Deno.writeTextFile(join(again, "second.txt"), "second draft\n");
  const second = await p.cmcs(["worktree", "cleanup", "feat/drop", "--force", "--json"]);
  assert.equal(second.code, 0, second.stderr);
  const report = JSON.parse(second.stdout);
  assert.equal(report.saved.snapshot, true);
  assert.notEqual(report.saved.ref, ref);
  assert.match(report.saved.ref, /^refs\/cmcs\/saved\//);
  assert.equal(report.saved.restore, `git branch feat/drop ${report.saved.ref}`);
  assert.equal(await gitIn(p.path, "show", `${report.saved.ref}:second.txt`), "second draft\n");
  assert.equal(await gitIn(p.path, "show", `${ref}:draft.txt`), "untracked draft\n");
});

Deno.test("--force on a detached HEAD saves its commits and names a branch to restore them to", async () => {
  await using p = await testProject();
  const path = await created(p, "loose");
  await gitIn(path, "checkout", "-q", "--detach");
  const commit = await commitFile(path, "loose.txt", "detached work\n");

  const forced = await p.cmcs(["worktree", "cleanup", "loose", "--force", "--json"]);
  assert.equal(forced.code, 0, forced.stderr);
  const report = JSON.parse(forced.stdout);
  assert.equal(report.saved.commit, commit);
  assert.equal(report.saved.snapshot, false);
  assert.equal(report.saved.restore, `git branch loose-restored ${report.saved.ref}`);
  await gitIn(p.path, ...report.saved.restore.split(" ").slice(1));
  assert.equal((await gitIn(p.path, "rev-parse", "loose-restored")).trim(), commit);
});

Deno.test("a clean worktree whose commits are all merged is removed by --force without saving anything", async () => {
  await using p = await testProject();
  const path = await created(p, "merged");
  await commitFile(path, "m.txt", "m\n");
  await gitIn(p.path, "merge", "-q", "--ff-only", "merged");
  const forced = await p.cmcs(["worktree", "cleanup", "merged", "--force", "--json"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(JSON.parse(forced.stdout).saved, null);
  assert.equal((await gitIn(p.path, "for-each-ref", "refs/cmcs/")).trim(), "");
});

Deno.test("cmcs stop on a worktree being cleaned up makes the cleanup give up, removing nothing", async () => {
  await using p = await testProject({}, { worktrees: { archive: WAITING_ARCHIVE } });
  const path = await created(p, "halt");
  const cleanup = pausedCleanup(p, "halt");
  await cleanup.started();
  const stopped = await p.cmcs(["stop", path]);
  assert.equal(stopped.code, 0, stopped.stderr);
  await cleanup.resume();

  const result = await cleanup.result;
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^error: the cleanup of worktrees\/halt was stopped .*nothing was removed$/m,
  );
  assert.ok(await exists(join(path, ".git")));
  assert.deepEqual(
    JSON.parse((await p.cmcs(["status", "--json"])).stdout).runs,
    [],
    "no run is left behind",
  );
  const again = await p.cmcs(["worktree", "cleanup", "halt"], {
    env: { CLEANUP_MARK: join(p.stateDir, "m2"), CLEANUP_GO: join(p.stateDir, "archive-go") },
  });
  assert.equal(again.code, 0, again.stderr);
  assert.ok(!(await exists(path)));
});

Deno.test("Ctrl-C during a forced cleanup ends its archive command, releases the lock and removes nothing", async () => {
  await using p = await testProject({}, { worktrees: { archive: WAITING_ARCHIVE } });
  const path = await created(p, "ctrlc");
  await Deno.writeTextFile(join(path, "draft.txt"), "work in progress\n");
  const cleanup = pausedCleanup(p, "ctrlc", "--force");
  try {
    const { cmcsPid, shellPid } = await cleanup.started();
    Deno.kill(cmcsPid, "SIGINT");
    const result = await cleanup.result;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /^error: interrupted; nothing of worktrees\/ctrlc was removed$/m);
    assert.ok(!isAlive(shellPid, null), "the archive command is not left running");
    assert.equal(await Deno.readTextFile(join(path, "draft.txt")), "work in progress\n");
    assert.deepEqual(JSON.parse((await p.cmcs(["status", "--json"])).stdout).runs, []);
    assert.equal((await gitIn(p.path, "for-each-ref", "refs/cmcs/")).trim(), "");
  } finally {
    await cleanup.resume();
  }
});

Deno.test("the lock of a cleanup that was killed outright is cleared without leaving a run behind", async () => {
  await using p = await testProject({}, { worktrees: { archive: WAITING_ARCHIVE } });
  const path = await created(p, "killed");
  const cleanup = pausedCleanup(p, "killed");
  try {
    const { cmcsPid, shellPid } = await cleanup.started();
    Deno.kill(cmcsPid, "SIGKILL");
    await cleanup.result;
    await cleanup.resume();
    await until("the orphaned archive command to end", () => !isAlive(shellPid, null));
  } finally {
    await cleanup.resume();
  }
  assert.deepEqual(JSON.parse((await p.cmcs(["status", "--json"])).stdout).runs, []);
  assert.ok(await exists(join(path, ".git")));
  const again = await p.cmcs(["worktree", "cleanup", "killed"], {
    env: { CLEANUP_MARK: join(p.stateDir, "m2"), CLEANUP_GO: join(p.stateDir, "archive-go") },
  });
  assert.equal(again.code, 0, again.stderr);
});
