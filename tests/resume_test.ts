/**
 * `cmcs resume`: a ticket goes back to the same Codex conversation with the orchestrator's
 * feedback — re-opened, run as a new attempt of kind `resume` in a run of its own, committed like
 * any attempt — and the errors around it (a thread Codex no longer has, none recorded, usage).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { EventRow } from "../src/core/db/types.ts";
import type { ResultJson } from "../src/core/review/result_json.ts";
import { cmcs } from "./helpers/cli.ts";
import { directive, readCalls } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { attempts, query, runs, until } from "./helpers/runs.ts";

async function ticketText(p: TestProject, id = "TICKET-001"): Promise<string> {
  return await Deno.readTextFile(join(p.path, `.cmcs/tickets/${id}.md`));
}

Deno.test("resume continues the same Codex thread and the ticket ends done with a committed second attempt", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Needs a second round" },
    `Work.\n${directive("not-done-until-resume")}\n${
      directive("write", "a.txt", "from round one")
    }\n`,
  );
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "ticket");
  const first = await p.cmcs(["run"]);
  assert.equal(first.code, 1, "the first round is not marked done");
  const [round1] = attempts(p);
  assert.equal(round1.outcome, "not_marked_done");
  assert.ok(round1.thread_id);

  const resumed = await p.cmcs([
    "resume",
    ".",
    "TICKET-001",
    "-m",
    "Finish it and mark the ticket done.",
  ]);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stdout, /^TICKET-001 {2}started "Needs a second round" \(resume attempt 1/m);
  assert.match(resumed.stdout, /^run 2 completed$/m);
  assert.match(resumed.stdout, /^review it with `cmcs result \. TICKET-001`$/m);

  const calls = await readCalls(p.recordFile);
  assert.equal(calls.length, 2);
  const argv = calls[1].argv;
  const at = argv.indexOf("resume");
  assert.ok(at > 0, argv.join(" "));
  assert.deepEqual(argv.slice(at), ["resume", round1.thread_id, "-"]);
  assert.ok(argv.indexOf("-s") < at && argv.indexOf("-s") > 0, "-s comes before resume");
  assert.ok(argv.indexOf("-C") < at && argv.indexOf("-C") > 0, "-C comes before resume");
  assert.equal(calls[1].resumed, true, "the worker found and continued the thread");
  assert.match(calls[1].prompt_head ?? "", /Finish it and mark the ticket done\./);

  assert.match(await ticketText(p), /^done: true$/m);
  const rows = attempts(p);
  assert.equal(rows.length, 2);
  const round2 = rows[1];
  assert.equal(round2.kind, "resume");
  assert.equal(round2.outcome, "done");
  assert.equal(round2.thread_id, round1.thread_id);
  assert.equal(round2.run_id, 2);
  assert.equal(round2.commit_after, (await gitIn(p.path, "rev-parse", "HEAD")).trim());
  const committed = (await gitIn(p.path, "show", "--name-only", "--format=%s", "HEAD")).trim();
  assert.equal(
    committed,
    "TICKET-001: Needs a second round\n\n.cmcs/tickets/TICKET-001.md\na.txt",
    "round one's uncommitted file is committed with the resume",
  );
  assert.equal(await gitIn(p.path, "status", "--porcelain"), "");
  assert.deepEqual(runs(p).map((r) => r.status), ["failed", "completed"]);
  const events = query<EventRow>(p, "SELECT * FROM events WHERE run_id = 2 ORDER BY id");
  assert.deepEqual(
    events.map((e) => e.event),
    ["run_started", "sent_back", "started", "committed", "completed", "run_finished"],
  );
  assert.ok(events.some((e) => e.event === "started" && e.attempt_id === round2.id));

  const result = await p.cmcs(["result", ".", "--json"]);
  const packet: ResultJson = JSON.parse(result.stdout);
  assert.deepEqual(packet.attempts.map((a) => [a.run_id, a.kind, a.outcome]), [
    [1, "first", "not_marked_done"],
    [2, "resume", "done"],
  ]);
  assert.equal(
    packet.tokens.input + packet.tokens.output,
    rows.reduce((sum, r) => sum + r.input_tokens! + r.output_tokens!, 0),
  );
});

Deno.test("resume re-opens a done ticket, reads feedback from a file or stdin, and prints JSON", async () => {
  const hookLog = await Deno.makeTempFile({ prefix: "cmcs-hooks-" });
  await using p = await testProject({}, {
    hooks: {
      on_ticket_end: `echo "ticket $CMCS_RUN_ID $CMCS_TICKET $CMCS_OUTCOME" >> '${hookLog}'`,
      on_run_end: `echo "run $CMCS_RUN_ID $CMCS_STATUS" >> '${hookLog}'`,
    },
  });
  await p.ticket(
    "TICKET-001.md",
    { title: "Done once" },
    `Work.\n${directive("write", "a.txt", "v1")}\n`,
  );
  assert.equal((await p.cmcs(["run"])).code, 0);
  const feedbackFile = join(p.stateDir, "review.md");
  await Deno.writeTextFile(feedbackFile, "Rename the output.\nKeep the tests green.\n");

  const viaFile = await p.cmcs(["resume", ".", "1", "--file", feedbackFile, "--json"]);
  assert.equal(viaFile.code, 0, viaFile.stderr);
  const summary = JSON.parse(viaFile.stdout);
  const rows = attempts(p);
  assert.deepEqual(summary, {
    run_id: 2,
    target: p.path,
    ticket: "TICKET-001",
    thread_id: rows[0].thread_id,
    resumed_attempt_id: rows[0].id,
    status: "completed",
    message: null,
    outcome: "done",
    attempt_id: rows[1].id,
    attempt_kind: "resume",
    commit_after: rows[1].commit_after,
  });
  assert.match(viaFile.stderr, /^run 2 completed$/m, "progress goes to stderr with --json");
  const calls = await readCalls(p.recordFile);
  assert.match(calls[1].prompt_head ?? "", /Rename the output\.\nKeep the tests green\./);
  assert.notEqual(rows[1].commit_after, rows[0].commit_after, "the resume made its own commit");
  const progress = (await ticketText(p)).match(/^fake-codex .* wrote a\.txt\.$/gm) ?? [];
  assert.equal(progress.length, 2, "the worker saw the ticket re-opened and marked it done again");

  const viaStdin = await cmcs(["resume", ".", "TICKET-001", "--file", "-"], {
    cwd: p.path,
    env: p.env,
    stdin: "Third round: from stdin.",
  });
  assert.equal(viaStdin.code, 0, viaStdin.stderr);
  const third = (await readCalls(p.recordFile))[2];
  assert.match(third.prompt_head ?? "", /Third round: from stdin\./);
  assert.deepEqual(third.argv.slice(-3), ["resume", rows[0].thread_id, "-"]);

  // Hooks run beside the run, so a ticket's and its run's hook may finish in either order.
  assert.deepEqual((await Deno.readTextFile(hookLog)).trim().split("\n").sort(), [
    "run 1 completed",
    "run 2 completed",
    "run 3 completed",
    "ticket 1 TICKET-001 done",
    "ticket 2 TICKET-001 done",
    "ticket 3 TICKET-001 done",
  ], "the hooks fire once per transition of a resume, as for a run");
  await Deno.remove(hookLog);
});

Deno.test("resume of a thread Codex no longer has fails clearly and leaves the ticket re-opened", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-002.md", { title: "Lost thread" });
  assert.equal((await p.cmcs(["run"])).code, 0);
  const [attempt] = attempts(p);
  await Deno.remove(join(p.stateDir, "threads"), { recursive: true });

  const out = await p.cmcs(["resume", ".", "TICKET-002", "-m", "More please"]);
  assert.equal(out.code, 1);
  assert.match(
    out.stderr,
    new RegExp(
      `^error: the Codex thread of TICKET-002 is gone \\(Codex has no conversation ${attempt.thread_id}\\); start a new attempt with \`cmcs run \\.\`$`,
      "m",
    ),
  );
  assert.match(out.stderr, /^hint: TICKET-002 is now re-opened \(done: false\)/m);
  assert.doesNotMatch(out.stderr, /internal error|at \w+ \(/);
  assert.match(await ticketText(p, "TICKET-002"), /^done: false$/m);
  const [, gone] = attempts(p);
  assert.equal(gone.kind, "resume");
  assert.equal(gone.outcome, "worker_failed");
  assert.match(gone.message ?? "", /no rollout found for thread id/);
  assert.equal(runs(p)[1].status, "failed");
  assert.match(runs(p)[1].message ?? "", /^TICKET-002: Codex thread gone/);

  const fresh = await p.cmcs(["run"]);
  assert.equal(fresh.code, 0, "the suggested `cmcs run` starts a new attempt");
  assert.equal(attempts(p)[2].kind, "first");
});

Deno.test("resume of a ticket without a recorded thread changes nothing and says to run it", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Never ran" });
  const before = await ticketText(p);
  const out = await p.cmcs(["resume", ".", "TICKET-001", "-m", "Go"]);
  assert.equal(out.code, 1);
  assert.match(
    out.stderr,
    /^error: TICKET-001 has no Codex thread to resume: it has not run on this target$/m,
  );
  assert.match(out.stderr, /^hint: start a new attempt with `cmcs run`$/m);
  assert.equal(await ticketText(p), before);
  assert.equal(runs(p).length, 0);
  assert.equal((await p.calls()).length, 0);

  const missing = await p.cmcs(["resume", ".", "TICKET-404", "-m", "Go"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: no ticket "TICKET-404" in /m);
});

Deno.test("resume needs exactly one non-empty feedback: usage errors exit 2 and change nothing", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "One" });
  assert.equal((await p.cmcs(["run"])).code, 0);
  const before = await ticketText(p);
  const cases: [string[], RegExp][] = [
    [
      ["resume", ".", "TICKET-001"],
      /^error: resume needs the feedback: -m "FEEDBACK" or --file FILE$/m,
    ],
    [
      ["resume", ".", "TICKET-001", "-m", "a", "--file", "x.md"],
      /^error: give the feedback either with -m or with --file, not both$/m,
    ],
    [["resume", ".", "TICKET-001", "-m", "  "], /^error: the feedback is empty$/m],
    [["resume", "."], /missing required argument 'ticket'/],
  ];
  for (const [args, message] of cases) {
    const out = await p.cmcs(args);
    assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, message);
  }
  assert.equal(await ticketText(p), before);
  assert.equal(runs(p).length, 1, "no run was created");

  const latin1 = join(p.stateDir, "feedback.txt");
  await Deno.writeFile(latin1, new Uint8Array([0x46, 0x69, 0x78, 0x0a, 0x63, 0x61, 0x66, 0xe9]));
  const binary = await p.cmcs(["resume", ".", "TICKET-001", "--file", latin1]);
  assert.equal(binary.code, 1, binary.stderr);
  assert.equal(
    binary.stderr,
    `error: the feedback file ${latin1} is not UTF-8 text (line 2)\n` +
      "hint: save it as UTF-8; the worker would get replacement characters instead\n",
  );
  assert.equal(runs(p).length, 1, "no run was created");
});

Deno.test("a resumed worker is stopped by cmcs stop like any other", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Slow second round" });
  assert.equal((await p.cmcs(["run"])).code, 0);
  const path = join(p.path, ".cmcs/tickets/TICKET-001.md");
  await Deno.writeTextFile(path, (await Deno.readTextFile(path)) + `\n${directive("slow", 60)}\n`);

  const resumed = p.cmcs(["resume", ".", "TICKET-001", "-m", "Take your time"]);
  await until("the resumed worker to start", () => attempts(p)[1]?.worker_pid);
  const stopped = await p.cmcs(["stop", "."]);
  assert.equal(stopped.code, 0, stopped.stderr);
  const out = await resumed;
  assert.equal(out.code, 1, out.stdout + out.stderr);
  assert.equal(attempts(p)[1].outcome, "stopped");
  assert.equal(runs(p)[1].status, "stopped");
});

Deno.test("a resume after a committed round leaves the user's later edit of that round's file uncommitted", async () => {
  await using p = await testProject();
  const path = await p.ticket(
    "TICKET-001.md",
    { title: "Two rounds, then more" },
    `Work.\n${directive("not-done-until-resume")}\n${directive("write", "a.txt", "round one")}\n`,
  );
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "ticket");
  assert.equal((await p.cmcs(["run"])).code, 1, "round one is not marked done");
  const second = await p.cmcs(["resume", ".", "TICKET-001", "-m", "Finish it."]);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.match(await gitIn(p.path, "show", "--name-only", "--format=", "HEAD"), /^a\.txt$/m);

  // The next round no longer writes a.txt; the user edits it meanwhile.
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, text.replace(/<!-- fake-codex: write [^>]*-->\n/, ""));
  await Deno.writeTextFile(join(p.path, "a.txt"), "the user's own edit\n");
  const third = await p.cmcs(["resume", ".", "TICKET-001", "-m", "One more thing."]);
  assert.equal(third.code, 0, third.stdout + third.stderr);
  const committed = (await gitIn(p.path, "show", "--name-only", "--format=", "HEAD")).trim();
  assert.deepEqual(committed.split("\n").sort(), [
    ".cmcs/tickets/TICKET-001.md",
    "fake-output/TICKET-001.txt",
  ]);
  assert.match(await gitIn(p.path, "status", "--porcelain"), /^ M a\.txt$/m);
  assert.equal(await Deno.readTextFile(join(p.path, "a.txt")), "the user's own edit\n");
});
