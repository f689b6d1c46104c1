/**
 * The runner's journal: each fact a run learns is emitted once, and the database's events, the
 * progress lines and the hooks all hear it from there — so the events table and what a watcher
 * saw cannot disagree.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { loadConfig } from "../src/core/config.ts";
import { Database } from "../src/core/db/database.ts";
import { runEvents } from "../src/core/db/events.ts";
import { processStartToken } from "../src/core/process_identity.ts";
import { findProject } from "../src/core/project.ts";
import { type Fact, Journal } from "../src/core/runner/journal.ts";
import { eventOf } from "../src/core/runner/journal_events.ts";
import { runTarget } from "../src/core/runner/run_target.ts";
import { StopController } from "../src/core/runner/stop_control.ts";
import { directive } from "./helpers/fake_codex.ts";
import { testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { query } from "./helpers/runs.ts";

Deno.test("every event a run records is one fact its watchers heard, in the same order", async () => {
  await using p = await testProject({ max_retries: 1, retry_backoff_s: 0 });
  await p.ticket("TICKET-001.md", { title: "For Claude", agent: "claude", done: false });
  await p.ticket(
    "TICKET-002.md",
    { title: "Flaky", agent: "codex", done: false },
    `Do it.\n${directive("transient-once")}\n${directive("write", "b.txt", "b")}\n`,
  );
  await p.ticket(
    "TICKET-003.md",
    { title: "Claims too early", agent: "codex", done: false },
    `Do it.\n${directive("done-early")}\n${directive("auth")}\n`,
  );
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "tickets");

  const project = await findProject(p.path);
  const { config } = await loadConfig(project);
  const db = Database.open(project.dbPath);
  const facts: Fact[] = [];
  const saved = Object.fromEntries(Object.keys(p.env).map((k) => [k, Deno.env.get(k)]));
  for (const [key, value] of Object.entries(p.env)) Deno.env.set(key, value);
  try {
    const result = await runTarget({
      db,
      project,
      config,
      target: p.path,
      ticketsDir: join(p.path, ".cmcs", "tickets"),
      broker: { pid: Deno.pid, start: processStartToken(Deno.pid) },
      stop: new StopController(),
      progress: (fact) => facts.push(fact),
    });
    assert.equal(result.status, "failed", result.message ?? "");

    const rows = runEvents(db, result.run.id).map((e) => ({
      event: e.event,
      ticket: e.ticket,
      attemptId: e.attempt_id,
      outcome: e.outcome,
      message: e.message,
    }));
    assert.deepEqual(rows.map((r) => `${r.event} ${r.ticket}`.trim()), [
      "run_started",
      "skipped TICKET-001.md",
      "started TICKET-002.md",
      "failed TICKET-002.md",
      "retry TICKET-002.md",
      "started TICKET-002.md",
      "committed TICKET-002.md",
      "completed TICKET-002.md",
      "started TICKET-003.md",
      "warning TICKET-003.md",
      "failed TICKET-003.md",
      "run_finished",
    ]);
    const heard = facts.map(eventOf).filter((e) => e !== null).map((e) => ({
      event: e.event,
      ticket: e.ticket ?? "",
      attemptId: e.attemptId ?? null,
      outcome: e.outcome ?? null,
      message: e.message ?? null,
    }));
    assert.deepEqual(heard, rows, "each row is exactly one fact the watchers heard");
    assert.deepEqual(
      facts.filter((f) => f.kind === "ticket_finished").map((f) => [f.ticket, f.outcome]),
      [["TICKET-002", "done"], ["TICKET-003", "auth"]],
      "the hooks' facts, which have no row of their own",
    );
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) Deno.env.delete(key);
      else Deno.env.set(key, value);
    }
    db.close();
  }
});

Deno.test("a malformed ticket the run stops at is recorded as failed without an attempt", () => {
  const fact: Fact = {
    kind: "ticket_finished",
    runId: 3,
    target: "/t",
    ticket: "TICKET-004",
    path: "/t/.cmcs/tickets/TICKET-004.md",
    outcome: "ticket_error",
    attempts: 0,
    message: "TICKET-004.md: line 2: bad YAML",
  };
  assert.deepEqual(eventOf(fact), {
    runId: 3,
    event: "failed",
    ticket: "TICKET-004.md",
    outcome: "ticket_error",
    message: "TICKET-004.md: line 2: bad YAML",
  });
  assert.equal(eventOf({ ...fact, attempts: 2, outcome: "done" }), null, "its attempts say it");
});

Deno.test("a run left to recovery records no run_finished event, but its watchers still hear it ended", () => {
  const fact: Fact = {
    kind: "run_finished",
    runId: 3,
    target: "/t",
    status: "failed",
    message: "database or disk is full",
    recorded: false,
  };
  assert.equal(eventOf(fact), null);
  assert.equal(eventOf({ ...fact, recorded: true })?.event, "run_finished");
});

Deno.test("the journal hands each fact to its subscribers in order, and a failing one stops it there", () => {
  const heard: string[] = [];
  const journal = new Journal(
    (f) => heard.push(`db ${f.kind}`),
    (f) => {
      if (f.kind === "warning") throw new Error("disk full");
    },
    (f) => heard.push(`printer ${f.kind}`),
  );
  journal.emit({ kind: "run_started", runId: 1, target: "/t", pending: 1 });
  assert.throws(() =>
    journal.emit({
      kind: "warning",
      runId: 1,
      target: "/t",
      ticket: "TICKET-001",
      file: "TICKET-001.md",
      attemptId: 1,
      message: "w",
    }), /disk full/);
  assert.deepEqual(heard, ["db run_started", "printer run_started", "db warning"]);
});

for (
  const [what, event, left] of [
    ["opening: its row, setup and started event", "started", "no attempt row"],
    ["end: its files and completed event", "completed", "its commit still pending"],
  ] as const
) {
  Deno.test(`an attempt's ${what} are one transaction: a database refusing the event leaves ${left}`, async () => {
    await using p = await testProject({ auto_commit: true });
    await p.ticket("TICKET-001.md", { title: "One", agent: "codex", done: false });
    await gitIn(p.path, "add", "-A");
    await gitIn(p.path, "commit", "-q", "-m", "ticket");
    const db = new DatabaseSync(join(p.path, ".cmcs/cmcs.db"));
    db.exec(
      `CREATE TRIGGER refuse_event BEFORE INSERT ON events WHEN NEW.event = '${event}'
       BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
    );
    db.close();
    const run = await p.cmcs(["run"]);
    assert.notEqual(run.code, 0, run.stdout);
    const rows = query<{ id: number; commit_pending: string | null; files_changed: string | null }>(
      p,
      "SELECT id, commit_pending, files_changed FROM attempts",
    );
    if (event === "started") assert.deepEqual(rows, []);
    else {
      // The commit was made; the attempt still says it is pending, so recovery records it.
      assert.equal(rows.length, 1);
      assert.ok(rows[0].commit_pending, "the commit is still pending");
      assert.equal(rows[0].files_changed, null);
    }
  });
}
