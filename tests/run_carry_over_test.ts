import assert from "node:assert/strict";
import { join } from "node:path";
import { directive } from "./helpers/fake_codex.ts";
import { testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";

Deno.test("a retry's commit includes the files the failed attempt before it left behind", async () => {
  await using p = await testProject({ max_retries: 1 });
  await p.ticket(
    "TICKET-001.md",
    { title: "Half done, then done", agent: "codex", done: false },
    `Do it.\n${directive("transient-once")}\n${
      directive("partial", "src/half.txt", "first", "half")
    }\n`,
  );
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /TICKET-001\s+retry:/);
  const committed = await gitIn(p.path, "show", "--name-only", "--format=%s", "HEAD");
  assert.match(committed, /^TICKET-001: Half done, then done$/m);
  assert.match(
    committed,
    /^src\/half\.txt$/m,
    "the first attempt's file is in the ticket's commit",
  );
  assert.equal(
    (await gitIn(p.path, "status", "--porcelain")).trim(),
    "",
    "nothing left uncommitted",
  );
});

Deno.test("a new run commits what the failed run left behind for the same ticket, not unrelated edits", async () => {
  await using p = await testProject({ max_retries: 0 });
  const ticket = await p.ticket(
    "TICKET-001.md",
    { title: "Second time lucky", agent: "codex", done: false },
    `Do it.\n${directive("fail", "boom")}\n${directive("partial", "notes/draft.md", "draft")}\n`,
  );
  await Deno.writeTextFile(join(p.path, "unrelated.txt"), "mine\n");
  const first = await p.cmcs(["run"]);
  assert.equal(first.code, 1, first.stdout);
  assert.equal(await Deno.readTextFile(join(p.path, "notes/draft.md")), "draft\n");

  await Deno.writeTextFile(
    ticket,
    (await Deno.readTextFile(ticket)).replace(directive("fail", "boom"), ""),
  );
  const second = await p.cmcs(["run"]);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  const committed = await gitIn(p.path, "show", "--name-only", "--format=%s", "HEAD");
  assert.match(committed, /^notes\/draft\.md$/m);
  assert.doesNotMatch(committed, /unrelated\.txt/);
  assert.match(await gitIn(p.path, "status", "--porcelain"), /^\?\? unrelated\.txt$/m);
});
