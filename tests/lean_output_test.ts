/**
 * Output for agents stays lean: `--json` is one line when stdout is not a terminal (indented with
 * `--pretty`), `result --json` is at most 1.5 times the text packet, `status --json` at most 250
 * characters per run, and `status` without `--limit` lists the running runs plus the 10 newest.
 * Measured on real runs of the stand-in worker; the README quotes these numbers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Database } from "../src/core/db/database.ts";
import { createRun, finishRun } from "../src/core/db/runs.ts";
import { registerWorktree } from "../src/core/db/worktrees.ts";
import { processStartToken } from "../src/core/process_identity.ts";
import { directive } from "./helpers/fake_codex.ts";
import { testProject } from "./helpers/project.ts";

const RESULT_RATIO = 1.5;
const STATUS_CHARS_PER_RUN = 250;

Deno.test("result --json is at most 1.5 times the text packet and status --json at most 250 characters a run", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Greeting" },
    `Write the greeting.\n${directive("write", "src/hello.txt", "hi\\nthere")}\n`,
  );
  await p.ticket(
    "TICKET-002.md",
    { title: "Farewell" },
    `Write the farewell.\n${directive("write", "src/bye.txt", "bye")}\n`,
  );
  await p.ticket("TICKET-003.md", { title: "Unfinished" }, `${directive("not-done")}\n`);
  assert.equal((await p.cmcs(["run"])).code, 1, "the third ticket is not marked done");

  for (const ticket of ["TICKET-001", "TICKET-003"]) {
    const text = await p.cmcs(["result", ".", ticket]);
    const json = await p.cmcs(["result", ".", ticket, "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const ratio = json.stdout.length / text.stdout.length;
    console.log(
      `    result ${ticket}: text ${text.stdout.length} chars, --json ${json.stdout.length} (${
        ratio.toFixed(2)
      }x)`,
    );
    assert.ok(ratio <= RESULT_RATIO, `${ratio.toFixed(2)}x:\n${json.stdout}\n${text.stdout}`);
  }

  const accepted = await p.cmcs(["accept", ".", "1", "2"]);
  assert.equal(accepted.code, 0, accepted.stderr);
  const resumed = await p.cmcs(["resume", ".", "3", "-m", "Finish it"]);
  assert.equal(resumed.code, 1, "still not marked done");
  const more = JSON.parse((await p.cmcs(["status", "--json"])).stdout);
  assert.equal(more.runs.length, 2);
  for (const run of more.runs) {
    // A run that did not complete also says why, in a message of its own (cut at 400 characters).
    const { message, ...facts } = run;
    const chars = JSON.stringify(facts).length;
    console.log(
      `    status --json: run ${run.id} ${run.status}: ${chars} chars${
        message ? ` + a message of ${message.length}` : ""
      }`,
    );
    assert.ok(chars <= STATUS_CHARS_PER_RUN, `${chars} chars: ${JSON.stringify(run)}`);
  }
});

Deno.test("--json prints one line when stdout is not a terminal, and indents with --pretty", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "One" });
  assert.equal((await p.cmcs(["run"])).code, 0);
  for (
    const args of [
      ["status"],
      ["result", "."],
      ["brief"],
      ["accept", ".", "1"],
      ["version"],
      ["config", "show"],
      ["worktree", "list"],
    ]
  ) {
    const plain = await p.cmcs([...args, "--json"]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout.split("\n").length, 2, `${args.join(" ")}: one line and its newline`);
    const pretty = await p.cmcs([...args, "--json", "--pretty"]);
    assert.equal(pretty.code, 0, pretty.stderr);
    assert.match(pretty.stdout, /^\{\n {2}"/, `${args.join(" ")} --pretty indents`);
    // The second `accept` finds the ticket accepted already; everything else is the same.
    const same = (json: string) => JSON.parse(json, (k, v) => k === "already" ? undefined : v);
    assert.deepEqual(same(pretty.stdout), same(plain.stdout));
  }
});

Deno.test("status without --limit lists every running run and the 10 newest, and counts the rest", async () => {
  await using p = await testProject();
  const self = { pid: Deno.pid, start: processStartToken(Deno.pid) };
  const db = Database.open(join(p.path, ".cmcs/cmcs.db"));
  try {
    // Run 1 still runs under this (live) process; runs 2–15 are finished.
    registerWorktree(db, p.path, "main");
    createRun(db, p.path, self);
    for (let i = 2; i <= 15; i++) {
      const other = join(p.path, `t${i}`);
      await Deno.mkdir(other);
      registerWorktree(db, other, `t${i}`);
      finishRun(db, createRun(db, other, self).id, "completed");
    }
  } finally {
    db.close();
  }
  const json = JSON.parse((await p.cmcs(["status", "--json"])).stdout);
  assert.deepEqual(
    json.runs.map((r: { id: number }) => r.id),
    [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 1],
  );
  assert.equal(json.not_shown, 4);
  const text = await p.cmcs(["status"]);
  assert.match(text.stdout, /^1\s+running\s/m);
  assert.match(text.stdout, /^… 4 older run\(s\) not shown \(use --limit\)$/m);
  const limited = JSON.parse((await p.cmcs(["status", "--json", "--limit", "3"])).stdout);
  assert.deepEqual(limited.runs.map((r: { id: number }) => r.id), [15, 14, 13]);
});
