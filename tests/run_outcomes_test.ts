/**
 * Every way an attempt can end, as `run`, `status --json`, the database and `logs` show it, and
 * the retries that follow (fallback model, transient errors) or must not follow (usage, auth).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AttemptRow } from "../src/core/db/types.ts";
import {
  CODEX_MESSAGES,
  defaultResetTime,
  directive,
  usageLimitMessage,
} from "./helpers/fake_codex.ts";

/** A reset time Codex names, relative to today so the test holds on any date and in any zone. */
const RESET_AT = defaultResetTime(new Date());
import { testProject } from "./helpers/project.ts";
import { attempts, query, runs } from "./helpers/runs.ts";

interface Case {
  outcome: string;
  directives: string;
  codex?: Record<string, unknown>;
  message: RegExp;
  /** More checks on the attempt row. */
  check?: (attempt: AttemptRow) => void;
}

const CASES: Case[] = [
  {
    outcome: "not_marked_done",
    directives: directive("not-done"),
    message: /not marked `done: true`/,
  },
  {
    outcome: "worker_failed",
    directives: directive("fail", "the", "linker", "crashed", "badly"),
    message: /^the linker crashed badly$/,
  },
  {
    outcome: "context_limit",
    directives: directive("context"),
    message: /ran out of room in the model's context window/,
  },
  {
    outcome: "usage_limit",
    directives: directive("usage-limit", usageLimitMessage(RESET_AT)),
    message: /usage limit/,
    check(attempt) {
      assert.equal(attempt.message, usageLimitMessage(RESET_AT));
      // "try again at <month> <day>th, <year> 3:05 PM" (local time) is when the limit lifts.
      assert.equal(attempt.resets_at, RESET_AT.toISOString());
    },
  },
  {
    outcome: "auth",
    directives: directive("auth"),
    message: /401 Unauthorized/,
  },
  {
    outcome: "timeout_total",
    directives: directive("hang"),
    codex: { timeout_s: 2, stop_grace_s: 0.5 },
    message: /no result after 2s \(codex\.timeout_s\)/,
  },
  {
    outcome: "timeout_idle",
    directives: directive("hang"),
    codex: { idle_timeout_s: 1, stop_grace_s: 0.5 },
    message: /no output from codex for 1s \(codex\.idle_timeout_s\)/,
  },
];

for (const c of CASES) {
  Deno.test(`an attempt ending ${c.outcome} fails the run and shows in status, the database and logs`, async () => {
    await using p = await testProject({ max_retries: 2, ...c.codex });
    await p.ticket(
      "TICKET-001.md",
      { title: "The task", agent: "codex", done: false },
      `Do it.\n${c.directives}\n`,
    );
    await p.ticket("TICKET-002.md", { title: "Next", agent: "codex", done: false });

    const run = await p.cmcs(["run"]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`TICKET-001\\s+${c.outcome}\\b`));

    const rows = attempts(p);
    assert.equal(rows.length, 1, "no retry (max_retries is 2) and no further ticket");
    assert.equal(rows[0].outcome, c.outcome);
    assert.match(rows[0].message ?? "", c.message);
    c.check?.(rows[0]);
    assert.equal((await p.calls()).length, 1);

    const status = await p.cmcs(["status", "--json"]);
    const [summary] = JSON.parse(status.stdout).runs;
    assert.equal(summary.status, "failed");
    assert.deepEqual(summary.tickets, { started: 1, done: 0, failed: 1, awaiting_review: 0 });
    assert.match(summary.message, new RegExp(`^TICKET-001: ${c.outcome}`));

    const logs = await p.cmcs(["logs"]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(
      logs.stdout,
      new RegExp(`^== run 1 · TICKET-001 · attempt 1 .* ${c.outcome}$`, "m"),
    );
    assert.ok(logs.stdout.includes(`-- ${c.outcome}: ${rows[0].message}`), logs.stdout);
  });
}

Deno.test("a done attempt shows as done in status, the database and logs", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "The task", agent: "codex", done: false });
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const [attempt] = attempts(p);
  assert.equal(attempt.outcome, "done");
  assert.equal(attempt.message, null);
  assert.ok(attempt.commit_after, "the ticket's work was committed");
  const [summary] = JSON.parse((await p.cmcs(["status", "--json"])).stdout).runs;
  assert.equal(summary.status, "completed");
  assert.deepEqual(summary.tickets, { started: 1, done: 1, failed: 0, awaiting_review: 1 });
  assert.ok(summary.tokens > 0);
  const logs = await p.cmcs(["logs"]);
  assert.match(logs.stdout, /^== run 1 · TICKET-001 · attempt 1 .* done$/m);
  assert.doesNotMatch(logs.stdout, /^-- /m);
});

Deno.test("a context-window failure retries once with the fallback model and keeps both attempts' logs", async () => {
  await using p = await testProject({ fallback_model: "fb", max_retries: 0 });
  await p.ticket(
    "TICKET-001.md",
    { title: "Big context", agent: "codex", done: false },
    `Do it.\n${directive("context-unless-model", "fb")}\n`,
  );
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /retry: context window exceeded; retrying with fallback model fb/);

  const rows = attempts(p);
  assert.deepEqual(
    rows.map((a) => [a.number, a.kind, a.model, a.outcome]),
    [[1, "first", null, "context_limit"], [2, "fallback", "fb", "done"]],
  );
  assert.deepEqual(rows.map((a) => a.log_dir), ["1/TICKET-001.1", "1/TICKET-001.2"]);
  const first = await Deno.readTextFile(join(p.path, ".cmcs/logs/1/TICKET-001.1/codex.jsonl"));
  const second = await Deno.readTextFile(join(p.path, ".cmcs/logs/1/TICKET-001.2/codex.jsonl"));
  assert.match(first, /"type":"turn\.failed".*context window/);
  assert.doesNotMatch(first, /turn\.completed/);
  assert.match(second, /"type":"turn\.completed"/);
  for (const [i, dir] of ["TICKET-001.1", "TICKET-001.2"].entries()) {
    const files = [...Deno.readDirSync(join(p.path, ".cmcs/logs/1", dir))].map((e) => e.name);
    assert.deepEqual(files.sort(), [
      "codex.jsonl",
      "last-message.md",
      "prompt.md",
      "stderr.log",
      "summary.json",
    ]);
    const summary = JSON.parse(
      await Deno.readTextFile(join(p.path, ".cmcs/logs/1", dir, "summary.json")),
    );
    assert.deepEqual([summary.number, summary.outcome], [i + 1, rows[i].outcome]);
  }
  assert.match(
    await Deno.readTextFile(join(p.path, ".cmcs/logs/1/TICKET-001.2/last-message.md")),
    /^Completed TICKET-001/,
  );
  const calls = await p.calls();
  assert.deepEqual(calls.map((c) => c.model), [null, "fb"]);
});

Deno.test("a transient failure is retried up to max_retries and the retry can succeed", async () => {
  await using p = await testProject({ max_retries: 1, retry_backoff_s: 0.1 });
  await p.ticket(
    "TICKET-001.md",
    { title: "Flaky", agent: "codex", done: false },
    `Do it.\n${directive("transient-once")}\n`,
  );
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /retry: transient error .* retry 1 of 1/);
  const rows = attempts(p);
  assert.deepEqual(rows.map((a) => [a.kind, a.outcome]), [["first", "worker_failed"], [
    "retry",
    "done",
  ]]);
  assert.equal(rows[0].message, CODEX_MESSAGES.highDemand);
  assert.equal(runs(p)[0].status, "completed");
});

Deno.test("transient failures stop being retried after max_retries", async () => {
  await using p = await testProject({ max_retries: 1, retry_backoff_s: 0.1 });
  await p.ticket(
    "TICKET-001.md",
    { title: "Down", agent: "codex", done: false },
    `Do it.\n${directive("fail")}\n`,
  );
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 1);
  assert.deepEqual(attempts(p).map((a) => a.outcome), ["worker_failed", "worker_failed"]);
});

for (
  const [what, command] of [
    ["a codex.command pointing at a missing program", "/nonexistent/bin/codex"],
    ["`codex` missing from PATH", "codex-not-installed-anywhere"],
  ]
) {
  Deno.test(`${what} is a spawn_error that says how to fix it and leaves nothing running`, async () => {
    await using p = await testProject({ command });
    await p.ticket("TICKET-001.md", { title: "Unstartable", agent: "codex", done: false });
    await p.ticket("TICKET-002.md", { title: "Next", agent: "codex", done: false });
    const run = await p.cmcs(["run"]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const [attempt, ...more] = attempts(p);
    assert.equal(more.length, 0);
    assert.equal(attempt.outcome, "spawn_error");
    assert.ok(attempt.message?.includes(command), attempt.message ?? "");
    assert.match(attempt.message ?? "", /npm install -g @openai\/codex/);
    assert.match(attempt.message ?? "", /codex\.command/);
    assert.match(run.stdout, /TICKET-001\s+spawn_error/);
    assert.equal(runs(p)[0].status, "failed");
    assert.equal(query(p, "SELECT id FROM runs WHERE status = 'running'").length, 0);
    assert.equal(query(p, "SELECT id FROM attempts WHERE outcome IS NULL").length, 0);
    const logs = await p.cmcs(["logs"]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /-- spawn_error: cannot start the worker/);
  });
}

Deno.test("a codex.command with options in it is told to put them in codex.extra_args", async () => {
  await using p = await testProject({ command: "codex --enable web_search" });
  await p.ticket("TICKET-001.md", { title: "Unstartable", agent: "codex", done: false });
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(
    attempts(p)[0].message ?? "",
    /`codex --enable web_search` was not found — codex\.command names one executable; put its options in codex\.extra_args$/,
  );
});

Deno.test("a ticket file passed where a target path goes gets a hint naming the ticket", async () => {
  await using p = await testProject();
  const path = await p.ticket("TICKET-001.md", { title: "One", agent: "codex", done: false });
  for (const args of [["diff", path], ["run", path]]) {
    const result = await p.cmcs(args);
    assert.equal(result.code, 1, args.join(" "));
    assert.equal(
      result.stderr,
      `error: not a directory: ${path}\n` +
        "hint: that is a ticket file; pass the repository or worktree path (e.g. .) and then TICKET-001\n",
    );
  }
});

Deno.test("a ticket the worker marked done before failing is set back to done: false and runs again", async () => {
  await using p = await testProject({ max_retries: 0 });
  const path = await p.ticket(
    "TICKET-001.md",
    { title: "Claims too early", agent: "codex", done: false },
    `Do it.\n${directive("done-early")}\n${directive("partial", "half.txt", "half done")}\n${
      directive("fail", "the stream dropped")
    }\n`,
  );
  const first = await p.cmcs(["run"]);
  assert.equal(first.code, 1, first.stdout + first.stderr);
  assert.match(
    first.stdout,
    /^TICKET-001 {2}warning: TICKET-001\.md was marked done, but the attempt ended worker_failed: set back to done: false, so the next run tries it again$/m,
  );
  const text = await Deno.readTextFile(path);
  assert.match(text, /^done: false$/m);
  assert.match(text, /## Progress\n\nClaimed done early\./, "the worker's notes stay");
  assert.match(JSON.parse(attempts(p)[0].warnings!)[0], /set back to done: false/);

  // The next run picks the ticket up again instead of skipping it as finished.
  await Deno.writeTextFile(path, text.replace(/<!-- fake-codex: (done-early|fail)[^>]*-->\n/g, ""));
  const second = await p.cmcs(["run"]);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.deepEqual(attempts(p).map((a) => [a.ticket, a.outcome]), [
    ["TICKET-001", "worker_failed"],
    ["TICKET-001", "done"],
  ]);
});

Deno.test("a timeout_s beyond what a timer holds (24.8 days) does not end the attempt at once", async () => {
  await using p = await testProject({ timeout_s: 3_000_000 });
  await p.ticket(
    "TICKET-001.md",
    { title: "Patient", agent: "codex", done: false },
    `Do it.\n${directive("slow", 1)}\n`,
  );
  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(attempts(p)[0].outcome, "done");
});

Deno.test("a log file that cannot be written is a warning: the broker keeps running the ticket", async () => {
  await using p = await testProject();
  // Run 1's first attempt at TICKET-002 writes .cmcs/logs/1/TICKET-002.1/codex.jsonl: a directory
  // standing there makes the file impossible to open. The worker of TICKET-001 puts it there
  // (made beforehand, the log directory of a run 1 would make the run take id 2).
  await p.ticket(
    "TICKET-001.md",
    { title: "Blocks the next log", agent: "codex", done: false },
    `Do it.\n${directive("write", ".cmcs/logs/1/TICKET-002.1/codex.jsonl/x")}\n`,
  );
  await p.ticket("TICKET-002.md", { title: "Unlogged", agent: "codex", done: false });
  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /^TICKET-002 {2}warning: cannot write .*codex\.jsonl: /m);
  assert.deepEqual(attempts(p).map((a) => a.outcome), ["done", "done"]);
  assert.ok(attempts(p)[1].thread_id, "the stream was still read and recorded");
  assert.equal(runs(p)[0].status, "completed");
});

Deno.test("a logs directory that cannot be written fails the ticket clearly and starts no worker", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Unloggable", agent: "codex", done: false });
  // Run 1 keeps its attempts under .cmcs/logs/1/: a file standing at .cmcs/logs makes that
  // impossible (a file at .cmcs/logs/1 would only make the run take id 2).
  await Deno.remove(join(p.path, ".cmcs/logs"), { recursive: true });
  await Deno.writeTextFile(join(p.path, ".cmcs/logs"), "in the way\n");
  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.doesNotMatch(result.stdout + result.stderr, /internal error|\n\s+at /);
  assert.match(
    result.stdout,
    /^run 1 failed: TICKET-001: spawn_error — cannot write the attempt's logs in .*\.cmcs\/logs\/1\/TICKET-001\.1: .* — make the \.cmcs\/logs directory writable$/m,
  );
  assert.deepEqual(attempts(p).map((a) => a.outcome), ["spawn_error"]);
  assert.equal((await p.calls()).length, 0);
});
