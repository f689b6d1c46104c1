/**
 * One ticket reference, one ticket: `result`, `diff`, `logs --ticket` and `resume` read a
 * reference by the same rules (src/core/ticket_ref.ts), and refuse one that names several tickets
 * instead of each guessing its own.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AmbiguousTicketRefError, findTicketRef } from "../src/core/ticket_ref.ts";
import { directive } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { runs } from "./helpers/runs.ts";

async function commitAll(p: TestProject): Promise<void> {
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "tickets");
}

/** Writes TICKET-002 "Second" (writes b.txt, not marked done until resumed) and runs it once. */
async function runSecondUndone(p: TestProject): Promise<void> {
  await p.ticket(
    "TICKET-002.md",
    { title: "Second" },
    `Work.\n${directive("not-done-until-resume")}\n${directive("write", "b.txt", "two")}\n`,
  );
  await commitAll(p);
  assert.equal((await p.cmcs(["run"])).code, 1, "TICKET-002 is not marked done in round one");
}

/**
 * `result`, `diff`, `logs --ticket` and then `resume` all take `ref` for TICKET-002 "Second", a
 * ticket that ran once without being marked done and wrote b.txt.
 */
async function assertEveryCommandFindsSecond(p: TestProject, ref: string): Promise<void> {
  const result = await p.cmcs(["result", ".", ref]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^TICKET-002 "Second": not_marked_done$/m);
  const diff = await p.cmcs(["diff", ".", ref, "--stat"]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /b\.txt/);
  const logs = await p.cmcs(["logs", ".", "--ticket", ref]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /^== run 1 · TICKET-002 · attempt 1/m);
  const resumed = await p.cmcs(["resume", ".", ref, "-m", "Finish and mark it done."]);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stdout, /^TICKET-002 {2}started "Second" \(resume attempt 1/m);
}

Deno.test("every spelling of a ticket names it: id, file name, path, number, ticket-number", () => {
  const ids = ["TICKET-001", "TICKET-002", "TICKET-010-fix"];
  for (const ref of ["TICKET-002", "TICKET-002.md", ".cmcs/tickets/TICKET-002.md", "2", "002"]) {
    assert.equal(findTicketRef(ids, ref), "TICKET-002", ref);
  }
  for (const ref of ["ticket-2", "TICKET-2", "ticket-002", " 2 "]) {
    assert.equal(findTicketRef(ids, ref), "TICKET-002", ref);
  }
  assert.equal(findTicketRef(ids, "10"), "TICKET-010-fix", "a suffixed ticket is found by number");
  assert.equal(findTicketRef(ids, "ticket-010-FIX"), "TICKET-010-fix");
  for (const ref of ["3", "TICKET-3", "TICKET-0020", "", "fix", "TICKET-001-fix"]) {
    assert.equal(findTicketRef(ids, ref), undefined, ref);
  }
});

Deno.test("a number shared by several tickets is refused with the candidates, an exact id still wins", () => {
  const ids = ["TICKET-002-fix", "TICKET-2", "TICKET-002"];
  assert.equal(findTicketRef(ids, "TICKET-002"), "TICKET-002");
  assert.equal(findTicketRef(ids, "TICKET-2"), "TICKET-2");
  assert.equal(findTicketRef(ids, "TICKET-002-fix.md"), "TICKET-002-fix");
  assert.throws(
    () => findTicketRef(ids, "2"),
    (error: unknown) =>
      error instanceof AmbiguousTicketRefError &&
      error.message === '"2" names several tickets: TICKET-2, TICKET-002, TICKET-002-fix' &&
      error.hint === "name one in full, e.g. TICKET-2",
  );
});

Deno.test("result, diff, logs and resume all find TICKET-002 as ticket-2 or by its path", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "First" });
  await runSecondUndone(p);

  await assertEveryCommandFindsSecond(p, "ticket-2");

  const byPath = await p.cmcs(["result", ".", ".cmcs/tickets/TICKET-002.md"]);
  assert.equal(byPath.code, 0, byPath.stderr);
  assert.match(byPath.stdout, /^TICKET-002 "Second": done$/m);
});

Deno.test("with TICKET-002 run and TICKET-002-fix written but never run, `2` is TICKET-002 for result, diff, logs and resume alike", async () => {
  await using p = await testProject();
  await runSecondUndone(p);
  // Written for later, after the run: a ticket file with the same number that never ran.
  await p.ticket("TICKET-002-fix.md", { title: "Fix", done: true });

  await assertEveryCommandFindsSecond(p, "2");

  // The ticket that never ran is named in full, and has nothing to resume.
  const never = await p.cmcs(["resume", ".", "TICKET-002-fix", "-m", "Go."]);
  assert.equal(never.code, 1);
  assert.match(
    never.stderr,
    /^error: TICKET-002-fix has no Codex thread to resume: it has not run on this target$/m,
  );
});

Deno.test("with TICKET-002 and TICKET-002-fix, `2` is refused alike by result, diff, logs and resume", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-002.md", { title: "Original" });
  await p.ticket("TICKET-002-fix.md", { title: "Fix" });
  await commitAll(p);
  assert.equal((await p.cmcs(["run"])).code, 0);
  const head = (await gitIn(p.path, "rev-parse", "HEAD")).trim();
  const files = async () =>
    await Promise.all(
      ["TICKET-002.md", "TICKET-002-fix.md"].map((f) =>
        Deno.readTextFile(join(p.path, ".cmcs/tickets", f))
      ),
    );
  const before = await files();

  const attempts = [
    ["result", ".", "2"],
    ["diff", ".", "2"],
    ["logs", ".", "--ticket", "2"],
    ["resume", ".", "2", "-m", "Again."],
  ];
  for (const args of attempts) {
    const out = await p.cmcs(args);
    assert.equal(out.code, 1, `${args.join(" ")}: ${out.stdout}${out.stderr}`);
    assert.equal(
      out.stderr,
      'error: "2" names several tickets: TICKET-002, TICKET-002-fix\n' +
        "hint: name one in full, e.g. TICKET-002\n",
      args.join(" "),
    );
  }
  assert.equal(runs(p).length, 1, "the refused resume started no run");
  assert.equal((await gitIn(p.path, "rev-parse", "HEAD")).trim(), head);
  assert.deepEqual(await files(), before, "no ticket file was touched");

  const exact = await p.cmcs(["result", ".", "TICKET-002"]);
  assert.equal(exact.code, 0, exact.stderr);
  assert.match(exact.stdout, /^TICKET-002 "Original": done$/m);
});
