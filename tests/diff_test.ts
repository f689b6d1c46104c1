/**
 * `cmcs diff`: exactly what one ticket changed — git's own diff of the ticket's commits, its span
 * over several attempts, and the working tree when auto-commit is off.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AttemptRow } from "../src/core/db/types.ts";
import { directive } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { runThenResume } from "./helpers/two_rounds.ts";
import { query } from "./helpers/runs.ts";

function attempts(p: TestProject, ticket: string): AttemptRow[] {
  return query<AttemptRow>(p, "SELECT * FROM attempts WHERE ticket = ? ORDER BY id", ticket);
}

Deno.test("diff prints git's diff of the ticket's own commit, and --stat git's stat", async () => {
  await using p = await testProject();
  await Deno.writeTextFile(join(p.path, "app.txt"), "one\ntwo\nthree\n");
  await gitIn(p.path, "add", "app.txt");
  await gitIn(p.path, "commit", "-q", "-m", "app");
  await p.ticket(
    "TICKET-001.md",
    { title: "Edit app" },
    `Edit.\n${directive("write", "app.txt", "one\\n2\\nthree")}\n${
      directive("write", "new/file.txt", "fresh")
    }\n`,
  );
  await p.ticket(
    "TICKET-002.md",
    { title: "Later" },
    `Later.\n${directive("write", "z.txt", "z")}\n`,
  );
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const [a] = attempts(p, "TICKET-001");
  assert.ok(a.commit_before && a.commit_after && a.commit_after !== a.commit_before);

  const diff = await p.cmcs(["diff", ".", "TICKET-001"]);
  assert.equal(diff.code, 0, diff.stderr);
  const expected = await gitIn(p.path, "diff", `${a.commit_before}..${a.commit_after}`);
  assert.equal(diff.stdout, expected);
  assert.match(diff.stdout, /^-two\n\+2$/m);
  assert.doesNotMatch(diff.stdout, /z\.txt/, "the later ticket's commit is not shown");
  assert.ok(!diff.stdout.includes("\x1b["), "no colour in a pipe");
  const colored = await p.cmcs(["diff", ".", "TICKET-001"], {
    env: { NO_COLOR: "", FORCE_COLOR: "1" },
  });
  assert.ok(colored.stdout.includes("\x1b["), "colour where cmcs would colour (a terminal)");

  const stat = await p.cmcs(["diff", ".", "1", "--stat"]);
  assert.equal(stat.code, 0, stat.stderr);
  assert.equal(
    stat.stdout,
    await gitIn(p.path, "diff", "--stat", a.commit_before!, a.commit_after!),
  );
  assert.match(stat.stdout, /3 files changed/);

  const latest = await p.cmcs(["diff", "."]);
  const [b] = attempts(p, "TICKET-002");
  assert.equal(latest.stdout, await gitIn(p.path, "diff", b.commit_before!, b.commit_after!));
});

Deno.test("diff spans every commit of a ticket that was resumed", async () => {
  await using p = await testProject();
  await runThenResume(p);

  const rows = attempts(p, "TICKET-001");
  assert.deepEqual(rows.map((r) => r.kind), ["first", "resume"]);
  const diff = await p.cmcs(["diff", ".", "TICKET-001"]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.equal(
    diff.stdout,
    await gitIn(p.path, "diff", rows[0].commit_before!, rows[1].commit_after!),
  );
  assert.match(diff.stdout, /^\+\+\+ b\/a\.txt$/m);
  assert.match(diff.stdout, /^\+\+\+ b\/b\.txt$/m);
});

Deno.test("with auto-commit off, diff shows the ticket's working-tree changes and leaves the index alone", async () => {
  await using p = await testProject({ auto_commit: false });
  await Deno.writeTextFile(join(p.path, "notes.txt"), "my own unrelated edit\n");
  await p.ticket(
    "TICKET-001.md",
    { title: "Uncommitted" },
    `Edit.\n${directive("write", "README.md", "# changed")}\n${
      directive("write", "added.txt", "brand new")
    }\n`,
  );
  await gitIn(p.path, "add", ".cmcs/tickets/TICKET-001.md");
  await gitIn(p.path, "commit", "-q", "-m", "ticket");
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const [a] = attempts(p, "TICKET-001");
  assert.equal(a.commit_after, null, "nothing was committed");
  const statusBefore = await gitIn(p.path, "status", "--porcelain");

  const diff = await p.cmcs(["diff", "."]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(
    diff.stdout,
    /^diff --git a\/README\.md b\/README\.md\n[^]*^-# test repo\n\+# changed$/m,
  );
  assert.match(diff.stdout, /^diff --git a\/added\.txt b\/added\.txt\nnew file mode 100644\n/m);
  assert.match(diff.stdout, /^\+brand new$/m);
  assert.match(diff.stdout, /^\+done: true$/m, "the worker's edit of the ticket");
  assert.doesNotMatch(
    diff.stdout,
    /notes\.txt/,
    "an edit from before the ticket is not its change",
  );

  const stat = await p.cmcs(["diff", ".", "--stat"]);
  assert.equal(stat.code, 0, stat.stderr);
  assert.match(stat.stdout, /^ README\.md +\| 2 \+-$/m);
  assert.match(stat.stdout, /^ added\.txt +\| 1 \+$/m);
  assert.match(stat.stdout, /3 files changed/);

  assert.equal(await gitIn(p.path, "status", "--porcelain"), statusBefore, "index untouched");
  assert.match(statusBefore, /^\?\? added\.txt$/m);
});

Deno.test("diff of a ticket that changed nothing says so; outside a ticket that ran it errors", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Fails" }, `Try.\n${directive("fail")}\n`);
  assert.equal((await p.cmcs(["run"])).code, 1);
  const empty = await p.cmcs(["diff", ".", "TICKET-001"]);
  assert.equal(empty.code, 0, empty.stderr);
  assert.equal(empty.stdout, "");
  assert.match(empty.stderr, /^TICKET-001 changed no files/m);

  const unknown = await p.cmcs(["diff", ".", "7"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: no ticket "7" has run on \.$/m);
  const usage = await p.cmcs(["diff"]);
  assert.equal(usage.code, 2);
});
