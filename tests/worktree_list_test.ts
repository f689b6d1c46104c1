/**
 * `cmcs worktree list`: worktrees made with plain git are found and registered (nested names
 * too), and each row carries its latest run, tickets, distance from the base and uncommitted work.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeTicket } from "./helpers/fake_codex.ts";
import { testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";

interface Listed {
  branch: string;
  path: string;
  label: string;
  main: boolean;
  state: string;
  base_ref: string | null;
  latest_run: { id: number; status: string } | null;
  tickets: { done: number; total: number } | null;
  ahead: number | null;
  behind: number | null;
  uncommitted: number | null;
}

Deno.test("worktree list registers worktrees made with git, nested branch names included", async () => {
  await using p = await testProject();
  const nested = join(p.path, "worktrees", "team", "feat", "deep");
  await gitIn(p.path, "worktree", "add", "-q", "-b", "team/feat/deep", nested);
  const detached = join(p.path, "worktrees", "detached");
  await gitIn(p.path, "worktree", "add", "-q", "--detach", detached);

  const result = await p.cmcs(["worktree", "list", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const doc = JSON.parse(result.stdout) as { worktrees: Listed[]; registered: string[] };
  assert.deepEqual(doc.registered.sort(), [detached, nested].sort());
  assert.deepEqual(
    doc.worktrees.map((w) => [w.label, w.branch, w.main]),
    [[".", "main", true], ["worktrees/detached", "detached", false], [
      "worktrees/team/feat/deep",
      "team/feat/deep",
      false,
    ]],
  );
  const again = JSON.parse((await p.cmcs(["worktree", "list", "--json"])).stdout);
  assert.deepEqual(again.registered, [], "registered once");

  const text = await p.cmcs(["worktree", "list"]);
  assert.match(text.stdout, /^BRANCH +STATE +LATEST RUN +TICKETS +AHEAD\/BEHIND +CHANGES +PATH$/m);
  assert.match(
    text.stdout,
    /^team\/feat\/deep +active +no runs +0\/0 +\+0 -0 +0 +worktrees\/team\/feat\/deep$/m,
  );
});

Deno.test("worktree list shows the latest run, tickets done/total, ahead/behind and uncommitted", async () => {
  await using p = await testProject();
  const created = await p.cmcs(["worktree", "create", "feat/a"]);
  assert.equal(created.code, 0, created.stderr);
  const path = join(p.path, "worktrees/feat/a");
  await writeTicket(path, "TICKET-001.md", { title: "one" });
  await writeTicket(path, "TICKET-002.md", { title: "two" });
  await writeTicket(path, "TICKET-003.md", { title: "three", agent: "claude" });
  const run = await p.cmcs(["run", path]);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  await gitIn(p.path, "commit", "-q", "--allow-empty", "-m", "main moves on");
  await Deno.writeTextFile(join(path, "scratch.txt"), "x\n");

  const doc = JSON.parse((await p.cmcs(["worktree", "list", "--json"])).stdout) as {
    worktrees: Listed[];
  };
  const row = doc.worktrees.find((w) => w.path === path)!;
  assert.equal(row.state, "active");
  assert.equal(row.base_ref, "main");
  assert.equal(row.latest_run?.status, "completed");
  assert.deepEqual(row.tickets, { done: 2, total: 3 });
  assert.equal(row.ahead, 2, "one commit per ticket");
  assert.equal(row.behind, 1);
  assert.equal(row.uncommitted, 2, "scratch.txt and the claude ticket");

  await Deno.remove(path, { recursive: true });
  const gone = JSON.parse((await p.cmcs(["worktree", "list", "--json"])).stdout) as {
    worktrees: Listed[];
  };
  assert.equal(gone.worktrees.find((w) => w.path === path)?.state, "missing");
});
