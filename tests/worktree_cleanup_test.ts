/**
 * `cmcs worktree cleanup` with real worktrees: it checks before it removes anything, lists what
 * would be lost, refuses while a run is active (even with --force), and `--force` finishes the job.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { WorktreeRow } from "../src/core/db/types.ts";
import { writeTicket } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { query, until } from "./helpers/runs.ts";

function worktreeRow(p: TestProject, path: string): WorktreeRow | undefined {
  return query<WorktreeRow>(p, "SELECT * FROM worktrees WHERE path = ?", path)[0];
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

async function branches(p: TestProject): Promise<string[]> {
  return (await gitIn(p.path, "branch", "--format=%(refname:short)")).trim().split("\n");
}

async function created(p: TestProject, branch: string): Promise<string> {
  const result = await p.cmcs(["worktree", "create", branch]);
  assert.equal(result.code, 0, result.stderr);
  return join(p.path, "worktrees", ...branch.split("/"));
}

Deno.test("cleanup refuses a worktree with uncommitted work, deleting nothing, then --force removes it", async () => {
  await using p = await testProject();
  const path = await created(p, "feat/dirty");
  await Deno.writeTextFile(join(path, "notes.txt"), "work in progress\n");
  await Deno.writeTextFile(join(path, "README.md"), "# edited\n");

  const refused = await p.cmcs(["worktree", "cleanup", "feat/dirty"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error: not removing worktrees\/feat\/dirty .*2 uncommitted/m);
  assert.match(refused.stderr, /^ {4}notes\.txt$/m);
  assert.match(refused.stderr, /^ {4}README\.md$/m);
  assert.match(refused.stderr, /^hint: .*--force/m);
  assert.equal(await Deno.readTextFile(join(path, "notes.txt")), "work in progress\n");
  assert.ok((await branches(p)).includes("feat/dirty"), "the branch is kept");
  assert.equal(worktreeRow(p, path)?.status, "active");

  const json = JSON.parse((await p.cmcs(["worktree", "cleanup", "feat/dirty", "--json"])).stdout);
  assert.equal(json.removed, false);
  assert.deepEqual(json.uncommitted.sort(), ["README.md", "notes.txt"]);

  const forced = await p.cmcs(["worktree", "cleanup", "feat/dirty", "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /^removed worktree worktrees\/feat\/dirty and branch feat\/dirty$/m);
  assert.match(forced.stderr, /removed \(--force\), and saved/);
  assert.ok(!(await exists(path)));
  assert.ok(!(await exists(join(p.path, "worktrees/feat"))), "the empty feat/ folder is gone too");
  assert.ok(!(await branches(p)).includes("feat/dirty"));
  assert.equal(worktreeRow(p, path)?.status, "archived");
  assert.ok(worktreeRow(p, path)?.archived_at);
});

Deno.test("cleanup refuses a branch with commits no other ref reaches and lists them", async () => {
  await using p = await testProject();
  const path = await created(p, "feat/ahead");
  await Deno.writeTextFile(join(path, "a.txt"), "a\n");
  await gitIn(path, "add", "a.txt");
  await gitIn(path, "commit", "-q", "-m", "add a");
  const sha = (await gitIn(path, "rev-parse", "--short", "HEAD")).trim();

  const refused = await p.cmcs(["worktree", "cleanup", "feat/ahead", "--json"]);
  assert.equal(refused.code, 1);
  const report = JSON.parse(refused.stdout);
  assert.equal(report.removed, false);
  assert.deepEqual(report.uncommitted, []);
  assert.equal(report.unreachable_commits.length, 1);
  assert.match(report.unreachable_commits[0], new RegExp(`^${sha}[0-9a-f]* add a$`));
  assert.match(report.refused, /1 commit\(s\) that no other branch, tag or worktree reaches/);
  assert.ok(await exists(join(path, "a.txt")));
  assert.ok((await branches(p)).includes("feat/ahead"));

  const text = await p.cmcs(["worktree", "cleanup", "feat/ahead"]);
  assert.match(
    text.stderr,
    /commits no other branch, tag or worktree reaches \(1\):\n {4}[0-9a-f]+ add a/,
  );

  const forced = await p.cmcs(["worktree", "cleanup", "feat/ahead", "--force", "--json"]);
  assert.equal(forced.code, 0, forced.stderr);
  const done = JSON.parse(forced.stdout);
  assert.equal(done.removed, true);
  assert.equal(done.branch_deleted, true);
  assert.ok(!(await exists(path)));
  assert.ok(!(await branches(p)).includes("feat/ahead"));
});

Deno.test("a merged, clean worktree is removed without --force, its branch deleted", async () => {
  await using p = await testProject();
  const path = await created(p, "done-work");
  await Deno.writeTextFile(join(path, "b.txt"), "b\n");
  await gitIn(path, "add", "b.txt");
  await gitIn(path, "commit", "-q", "-m", "add b");
  await gitIn(p.path, "merge", "-q", "--ff-only", "done-work");
  const result = await p.cmcs(["worktree", "cleanup", "done-work"]);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!(await exists(path)));
  assert.ok(!(await branches(p)).includes("done-work"));
  assert.ok(await exists(join(p.path, "b.txt")), "the main checkout is untouched");

  const again = await p.cmcs(["worktree", "cleanup", "done-work"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^error: the worktree of branch done-work was already cleaned up/m);
  const unknown = await p.cmcs(["worktree", "cleanup", "nope"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: no worktree for branch nope$/m);
  const main = await p.cmcs(["worktree", "cleanup", "main", "--force"]);
  assert.equal(main.code, 1);
  assert.match(main.stderr, /never removes it/);
  assert.ok(await exists(join(p.path, ".git")));
});

Deno.test("cleanup refuses while a run is active there, even with --force", async () => {
  await using p = await testProject();
  const path = await created(p, "busy");
  await writeTicket(path, "TICKET-001.md", { title: "slow", directives: [["slow", 30]] });
  const running = p.cmcs(["run", path]);
  await until("the run to start", async () => {
    const list = JSON.parse((await p.cmcs(["worktree", "list", "--json"])).stdout);
    return list.worktrees.find((w: { path: string }) => w.path === path)?.latest_run?.status ===
      "running";
  });
  const refused = await p.cmcs(["worktree", "cleanup", "busy", "--force"]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^error: run \d+ is running on worktrees\/busy; not removing it, even with --force/m,
  );
  assert.ok(await exists(join(path, ".git")));
  assert.ok((await branches(p)).includes("busy"));

  assert.equal((await p.cmcs(["stop", path])).code, 0);
  assert.equal((await running).code, 1);
  const forced = await p.cmcs(["worktree", "cleanup", "busy", "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.ok(!(await exists(path)));
});

Deno.test("a failing archive command refuses the cleanup unless --force; a passing one runs first", async () => {
  await using p = await testProject({}, {
    worktrees: { archive: 'echo "archiving $CMCS_BRANCH"; test -f keep-me || exit 4' },
  });
  const path = await created(p, "arch");
  const refused = await p.cmcs(["worktree", "cleanup", "arch"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /the archive command failed/);
  assert.match(refused.stderr, /archiving arch/);
  assert.ok(await exists(join(path, ".git")));

  const forced = await p.cmcs(["worktree", "cleanup", "arch", "--force", "--json"]);
  assert.equal(forced.code, 0, forced.stderr);
  const report = JSON.parse(forced.stdout);
  assert.equal(report.archive.exit_code, 4);
  assert.equal(report.removed, true);

  const path2 = await created(p, "arch2");
  // An ignored marker file makes the archive command pass without making the worktree dirty.
  await Deno.writeTextFile(join(p.path, ".git/info/exclude"), "keep-me\n", { append: true });
  await Deno.writeTextFile(join(path2, "keep-me"), "ignored marker\n");
  const ok = await p.cmcs(["worktree", "cleanup", "arch2", "--json"]);
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  assert.equal(JSON.parse(ok.stdout).archive.ok, true);
  assert.ok(!(await exists(path2)));
});

Deno.test("cleanup never removes a worktree outside the worktrees root", async () => {
  await using p = await testProject();
  const outside = join(p.path, "elsewhere");
  await gitIn(p.path, "worktree", "add", "-q", "-b", "outside", outside);
  const result = await p.cmcs(["worktree", "cleanup", "outside", "--force"]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: elsewhere is outside the worktrees root/m);
  assert.ok(await exists(join(outside, ".git")));
  assert.ok((await branches(p)).includes("outside"));
});
