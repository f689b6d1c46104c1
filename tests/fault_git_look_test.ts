/**
 * A `git status` that fails is never read as a clean tree. Before a ticket, the edits that predate
 * it could not be told from the ticket's (an auto-commit would take them too), so no worker starts;
 * after it, a done ticket whose changes nobody could see is not reported done with nothing to
 * commit: its auto-commit fails, the ticket is re-opened, and the run says why.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { directive } from "./helpers/fake_codex.ts";
import { testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { attempts, runs } from "./helpers/runs.ts";

/** Bytes git refuses as an index ("bad signature"), so every `git status` fails. */
const BROKEN_INDEX = "not an index";

Deno.test("a git status that fails before a ticket starts no worker and commits nothing: the attempt is spawn_error with git's words", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Work", agent: "codex", done: false });
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "ticket");
  const head = await gitIn(p.path, "rev-parse", "HEAD");
  await Deno.writeTextFile(join(p.path, "notes.txt"), "the user's own edit\n");
  await Deno.writeTextFile(join(p.path, ".git/index"), BROKEN_INDEX);

  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const [attempt] = attempts(p);
  assert.equal(attempt.outcome, "spawn_error");
  assert.match(
    attempt.message ?? "",
    /cannot look at the working tree before the worker: git status failed: .*index/,
  );
  assert.equal(attempt.worker_pid, null, "no worker was started");
  assert.equal(runs(p)[0].status, "failed");
  assert.match(run.stdout + run.stderr, /cannot look at the working tree/);
  assert.equal(await gitIn(p.path, "rev-parse", "HEAD"), head, "nothing was committed");
  assert.equal(await Deno.readTextFile(join(p.path, "notes.txt")), "the user's own edit\n");
  assert.match(
    await Deno.readTextFile(join(p.path, ".cmcs/tickets/TICKET-001.md")),
    /^done: false$/m,
  );
});

Deno.test("a git status that fails after a done ticket is not 'done, nothing changed': the auto-commit fails and the ticket is re-opened", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Breaks the index", agent: "codex", done: false },
    `Work.\n${directive("write", "src/work.txt", "the work")}\n` +
      `${directive("write", ".git/index", BROKEN_INDEX.replaceAll(" ", "\\x20"))}\n`,
  );
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "ticket");
  const head = await gitIn(p.path, "rev-parse", "HEAD");

  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const [attempt] = attempts(p);
  assert.equal(attempt.outcome, "commit_failed");
  assert.match(
    attempt.message ?? "",
    /auto-commit failed, changes left uncommitted: the working tree could not be looked at after the worker \(git status failed: .*\): what the attempt changed is unknown/,
  );
  assert.match(attempt.warnings ?? "", /set back to done: false/);
  assert.equal(runs(p)[0].status, "failed");
  assert.equal(await gitIn(p.path, "rev-parse", "HEAD"), head, "nothing was committed");
  assert.equal(await Deno.readTextFile(join(p.path, "src/work.txt")), "the work\n");
  assert.match(
    await Deno.readTextFile(join(p.path, ".cmcs/tickets/TICKET-001.md")),
    /^done: false$/m,
    "the ticket is open again",
  );
  const status = await p.cmcs(["status"]);
  assert.doesNotMatch(status.stdout, /awaiting review/, "nothing unseen awaits review");
});
