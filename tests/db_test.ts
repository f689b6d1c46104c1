import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DatabaseSync } from "node:sqlite";
import { Database } from "../src/core/db/database.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "../src/core/db/schema.ts";
import { createRun, finishRun, getRun } from "../src/core/db/runs.ts";
import { runAttempts, ticketsRunOn } from "../src/core/db/attempts.ts";
import { recordReview, ticketReviewRows } from "../src/core/db/reviews.ts";
import { recordEvent, runEvents } from "../src/core/db/events.ts";
import { registerWorktree } from "../src/core/db/worktrees.ts";
import { queryRunSummaries, type RunSummary } from "../src/core/db/status_query.ts";
import type { Outcome, TokenUsage } from "../src/core/db/types.ts";
import { cmcs, PROJECT_DIR } from "./helpers/cli.ts";
import { tempDir, tempRepo } from "./helpers/repo.ts";
import { addAttempt } from "./helpers/runs.ts";

/** The earlier Python tool's schema, exactly as it created it (spec §5). */
const LEGACY_DDL = `
CREATE TABLE IF NOT EXISTS worktrees(path TEXT PRIMARY KEY,
          branch TEXT NOT NULL,
          created_at TEXT NOT NULL DEFAULT (datetime('now')),
          status TEXT NOT NULL DEFAULT 'active');
CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY AUTOINCREMENT,
     worktree TEXT NOT NULL REFERENCES worktrees(path),
     started_at TEXT NOT NULL DEFAULT (datetime('now')),
     finished_at TEXT,
     status TEXT NOT NULL DEFAULT 'running',
     worker_pid INTEGER);
CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY AUTOINCREMENT,
       run_id INTEGER NOT NULL REFERENCES runs(id),
       ticket TEXT NOT NULL, model TEXT, event TEXT NOT NULL,
       exit_code INTEGER, duration_s REAL,
       timestamp TEXT NOT NULL DEFAULT (datetime('now')));
`;

/**
 * Writes a database the way the earlier tool left it: four runs covering the event sequences of
 * spec §6.2 (success, exit-0-but-not-done, timeout then fallback success, a crash leaving only
 * `started`, and a run still marked running). Returns nothing; the file is at `path`.
 */
function writeLegacyDb(path: string, target: string): void {
  const raw = new DatabaseSync(path);
  raw.exec("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL;");
  raw.exec(LEGACY_DDL);
  raw.exec(`
    INSERT INTO worktrees(path, branch, created_at) VALUES ('${target}', 'main', '2026-03-07 09:00:00');
    INSERT INTO runs(worktree, started_at, finished_at, status, worker_pid)
      VALUES ('${target}', '2026-03-07 10:00:00', '2026-03-07 10:09:00', 'failed', 4242);
    INSERT INTO events(run_id, ticket, model, event, exit_code, duration_s, timestamp) VALUES
      (1, 'TICKET-001.md', 'gpt-5', 'started', NULL, NULL, '2026-03-07 10:00:01'),
      (1, 'TICKET-001.md', 'gpt-5', 'completed', 0, 61.5, '2026-03-07 10:01:02'),
      (1, 'TICKET-001.md', 'gpt-5', 'warning', NULL, NULL, '2026-03-07 10:01:03'),
      (1, 'TICKET-002.md', 'gpt-5', 'started', NULL, NULL, '2026-03-07 10:01:04'),
      (1, 'TICKET-002.md', 'gpt-5', 'failed', -1, 300, '2026-03-07 10:06:04'),
      (1, 'TICKET-002.md', 'gpt-5-mini', 'started', NULL, NULL, '2026-03-07 10:06:05'),
      (1, 'TICKET-002.md', 'gpt-5-mini', 'completed', 0, 120.25, '2026-03-07 10:08:05'),
      (1, 'TICKET-003.md', 'gpt-5', 'started', NULL, NULL, '2026-03-07 10:08:06'),
      (1, 'TICKET-003.md', 'gpt-5', 'completed', 0, 40, '2026-03-07 10:08:46'),
      (1, 'TICKET-003.md', 'gpt-5', 'failed', 0, NULL, '2026-03-07 10:08:47');
    INSERT INTO runs(worktree, started_at, finished_at, status, worker_pid)
      VALUES ('${target}', '2026-03-08 11:00:00', '2026-03-08 11:30:00', 'interrupted', 4343);
    INSERT INTO events(run_id, ticket, model, event, exit_code, duration_s, timestamp) VALUES
      (2, 'TICKET-003.md', 'gpt-5', 'started', NULL, NULL, '2026-03-08 11:00:01'),
      (2, 'TICKET-003.md', 'gpt-5', 'failed', 2, 3.5, '2026-03-08 11:00:05'),
      (2, 'TICKET-004.md', 'gpt-5', 'started', NULL, NULL, '2026-03-08 11:00:06');
    INSERT INTO runs(worktree, started_at, finished_at, status, worker_pid)
      VALUES ('${target}', '2026-03-09 12:00:00', '2026-03-09 12:00:30', 'completed', 4444);
    INSERT INTO events(run_id, ticket, model, event, exit_code, duration_s, timestamp) VALUES
      (3, 'TICKET-004.md', 'gpt-5', 'started', NULL, NULL, '2026-03-09 12:00:01'),
      (3, 'TICKET-004.md', 'gpt-5', 'completed', 0, 29, '2026-03-09 12:00:30');
    INSERT INTO runs(worktree, started_at, status, worker_pid)
      VALUES ('${target}', '2026-03-09 13:00:00', 'running', 4545);
    INSERT INTO events(run_id, ticket, model, event, timestamp) VALUES
      (4, 'TICKET-005.md', 'gpt-5', 'started', '2026-03-09 13:00:01');
  `);
  raw.close();
}

const USAGE: TokenUsage = {
  input_tokens: 1000,
  cached_input_tokens: 400,
  output_tokens: 200,
  reasoning_output_tokens: 50,
};

/** An attempt as a finished worker leaves it, with {@link USAGE} when it has an outcome. */
function attempt(db: Database, runId: number, ticket: string, outcome: Outcome | null): number {
  return addAttempt(db, runId, ticket, outcome, { model: "gpt-5", usage: USAGE, exitCode: 0 });
}

Deno.test("Database.open() creates a fresh database at the current schema version in WAL mode", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "nested", "cmcs.db");
  const db = Database.open(path);
  try {
    assert.equal(db.version, SCHEMA_VERSION);
    assert.equal(db.get<{ journal_mode: string }>("PRAGMA journal_mode")?.journal_mode, "wal");
    const tables = db.all<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    ).map((row) => row.name);
    assert.deepEqual(tables, [
      "attempts",
      "events",
      "latest_attempts",
      "reviews",
      "runs",
      "worktrees",
    ]);
    registerWorktree(db, "/repo", "main");
    const run = createRun(db, "/repo", { pid: 1, start: null });
    assert.match(run.started_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  } finally {
    db.close();
  }
  // Reopening is a no-op: nothing is migrated twice.
  const again = Database.open(path);
  assert.equal(again.version, SCHEMA_VERSION);
  assert.equal(again.all("SELECT * FROM runs").length, 1);
  again.close();
});

Deno.test("a database from before the latest-attempt table keeps its review queue: each ticket's newest attempt and decision per target", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "cmcs.db");
  // Schema 4 as the previous cmcs left it, with a ticket tried in two runs on one target and once
  // on another, and a second ticket.
  const raw = new DatabaseSync(path);
  for (const migration of MIGRATIONS.filter((m) => m.version <= 4)) {
    for (const sql of migration.statements(false)) raw.exec(sql);
  }
  raw.exec("PRAGMA user_version = 4");
  raw.exec(
    `INSERT INTO worktrees (path, branch, created_at) VALUES
       ('/repo', 'main', '2026-01-01T00:00:00.000Z'), ('/wt', 'wt', '2026-01-01T00:00:00.000Z')`,
  );
  const run = (target: string) =>
    Number(
      raw.prepare(
        "INSERT INTO runs (worktree, started_at, status) VALUES (?, '2026-01-01T00:00:00.000Z', 'completed')",
      ).run(target).lastInsertRowid,
    );
  const attempt = (runId: number, ticket: string) =>
    Number(
      raw.prepare(
        `INSERT INTO attempts (run_id, ticket, started_at, finished_at, outcome)
         VALUES (?, ?, '2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z', 'done')`,
      ).run(runId, ticket).lastInsertRowid,
    );
  const first = attempt(run("/repo"), "TICKET-001");
  const other = attempt(run("/wt"), "TICKET-001");
  const second = attempt(run("/repo"), "TICKET-001");
  const ticket2 = attempt(run("/repo"), "TICKET-002");
  // TICKET-002 was accepted before the upgrade.
  raw.prepare(
    `INSERT INTO reviews (target, ticket, attempt_id, decision, decided_at)
     VALUES ('/repo', 'TICKET-002', ?, 'accepted', '2026-01-01T00:02:00.000Z')`,
  ).run(ticket2);
  raw.close();
  assert.ok(first < second);

  const db = Database.open(path);
  try {
    const latest = () =>
      ticketReviewRows(db).map((row) => [row.target, row.ticket, row.attempt_id, row.decision]);
    assert.deepEqual(latest(), [
      ["/wt", "TICKET-001", other, null],
      ["/repo", "TICKET-001", second, null],
      ["/repo", "TICKET-002", ticket2, "accepted"],
    ]);
    assert.deepEqual(ticketsRunOn(db, "/repo"), ["TICKET-002", "TICKET-001"]);
    // A new attempt after the upgrade moves its ticket to the end of the queue.
    const next = createRun(db, "/wt", { pid: 1, start: null });
    const newest = addAttempt(db, next.id, "TICKET-001", "done");
    assert.deepEqual(latest(), [
      ["/repo", "TICKET-001", second, null],
      ["/repo", "TICKET-002", ticket2, "accepted"],
      ["/wt", "TICKET-001", newest, null],
    ]);
    // A decision after the upgrade is the ticket's newest.
    recordReview(db, {
      target: "/wt",
      ticket: "TICKET-001",
      attemptId: newest,
      decision: "sent_back",
      runId: next.id,
    });
    assert.deepEqual(latest().at(-1), ["/wt", "TICKET-001", newest, "sent_back"]);
  } finally {
    db.close();
  }
});

Deno.test("Database.open() refuses a database written by a newer cmcs", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "cmcs.db");
  const raw = new DatabaseSync(path);
  raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  assert.throws(() => Database.open(path), /newer cmcs/);
});

Deno.test("Database.open() migrates the earlier tool's database in place, keeping its history", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "cmcs.db");
  writeLegacyDb(path, "/repo");

  const db = Database.open(path);
  try {
    assert.equal(db.version, SCHEMA_VERSION);
    const runs = db.all<{ id: number; status: string; started_at: string; finished_at: string }>(
      "SELECT * FROM runs ORDER BY id",
    );
    assert.deepEqual(runs.map((r) => r.status), ["failed", "interrupted", "completed", "running"]);
    assert.equal(runs[0].started_at, "2026-03-07T10:00:00.000Z");
    assert.equal(runs[0].finished_at, "2026-03-07T10:09:00.000Z");
    assert.equal(runs[3].finished_at, null);
    assert.equal(getRun(db, 4)?.current_ticket, "TICKET-005.md");
    assert.equal(getRun(db, 1)?.worker_pid, null, "a finished run's stale worker pid is cleared");

    const events = runEvents(db, 1);
    assert.equal(events.length, 10);
    assert.equal(events[1].timestamp, "2026-03-07T10:01:02.000Z");
    assert.equal(
      db.get<{ created_at: string }>("SELECT created_at FROM worktrees")?.created_at,
      "2026-03-07T09:00:00.000Z",
    );

    const attempts = runAttempts(db, 1).map((a) => ({
      ticket: a.ticket,
      number: a.number,
      kind: a.kind,
      model: a.model,
      outcome: a.outcome,
      exit_code: a.exit_code,
      duration_s: a.duration_s,
      started_at: a.started_at,
      finished_at: a.finished_at,
      warnings: a.warnings ? JSON.parse(a.warnings).length : 0,
    }));
    assert.deepEqual(attempts, [
      {
        ticket: "TICKET-001.md",
        number: 1,
        kind: "first",
        model: "gpt-5",
        outcome: "done",
        exit_code: 0,
        duration_s: 61.5,
        started_at: "2026-03-07T10:00:01.000Z",
        finished_at: "2026-03-07T10:01:02.000Z",
        warnings: 1,
      },
      {
        ticket: "TICKET-002.md",
        number: 1,
        kind: "first",
        model: "gpt-5",
        outcome: "timeout_total",
        exit_code: -1,
        duration_s: 300,
        started_at: "2026-03-07T10:01:04.000Z",
        finished_at: "2026-03-07T10:06:04.000Z",
        warnings: 0,
      },
      {
        ticket: "TICKET-002.md",
        number: 2,
        kind: "fallback",
        model: "gpt-5-mini",
        outcome: "done",
        exit_code: 0,
        duration_s: 120.25,
        started_at: "2026-03-07T10:06:05.000Z",
        finished_at: "2026-03-07T10:08:05.000Z",
        warnings: 0,
      },
      {
        ticket: "TICKET-003.md",
        number: 1,
        kind: "first",
        model: "gpt-5",
        outcome: "not_marked_done",
        exit_code: 0,
        duration_s: 40,
        started_at: "2026-03-07T10:08:06.000Z",
        finished_at: "2026-03-07T10:08:47.000Z",
        warnings: 0,
      },
    ]);
    // Every legacy attempt event points at the attempt it belongs to.
    for (const event of events) {
      const owner = runAttempts(db, 1).findLast((a) =>
        a.id <= event.id && a.ticket === event.ticket
      );
      assert.equal(event.attempt_id, owner?.id, `event ${event.id} (${event.event})`);
    }
    // The crash left `started` only: closed with the ended run, so it counts as failed.
    assert.deepEqual(runAttempts(db, 2).map((a) => [a.ticket, a.outcome]), [
      ["TICKET-003.md", "worker_failed"],
      ["TICKET-004.md", "worker_failed"],
    ]);
    // The run still marked running keeps its attempt open, for orphan recovery to close.
    assert.deepEqual(runAttempts(db, 4).map((a) => [a.ticket, a.outcome]), [[
      "TICKET-005.md",
      null,
    ]]);

    const summaries = queryRunSummaries(db, { limit: 10 });
    assert.deepEqual(
      summaries.map((s) => [s.id, s.status, s.tickets.started, s.tickets.done, s.tickets.failed]),
      [[4, "running", 1, 0, 0], [3, "completed", 1, 1, 0], [2, "interrupted", 2, 0, 2], [
        1,
        "failed",
        3,
        2,
        1,
      ]],
    );
    assert.equal(summaries[3].duration_s, 540);

    // The upgraded database takes new rows after the legacy ones.
    const run = createRun(db, "/repo", { pid: 1, start: null });
    assert.equal(run.id, 5);
    const migrated = db.get<{ n: number }>("SELECT MAX(id) AS n FROM attempts")?.n ?? 0;
    assert.ok(attempt(db, run.id, "TICKET-006.md", "done") > migrated);
    finishRun(db, run.id, "completed");
  } finally {
    db.close();
  }
  const again = Database.open(path);
  assert.equal(again.all("SELECT * FROM attempts").length, 9, "a second open migrates nothing");
  again.close();
});

Deno.test("queryRunSummaries() counts a retried ticket once, by its latest attempt", async () => {
  await using dir = await tempDir();
  const db = Database.open(join(dir.path, "cmcs.db"));
  try {
    registerWorktree(db, "/repo", "main");
    const run = createRun(db, "/repo", { pid: 1, start: null });
    attempt(db, run.id, "TICKET-001.md", "done");
    attempt(db, run.id, "TICKET-002.md", "context_limit");
    attempt(db, run.id, "TICKET-002.md", "done");
    attempt(db, run.id, "TICKET-003.md", "worker_failed");
    attempt(db, run.id, "TICKET-004.md", "done");
    attempt(db, run.id, "TICKET-004.md", "not_marked_done");
    attempt(db, run.id, "TICKET-005.md", null);
    const [summary] = queryRunSummaries(db, { limit: 5 });
    assert.deepEqual(summary.tickets, { started: 5, done: 2, failed: 2 });
    assert.deepEqual(summary.tokens, {
      input: 6000,
      cached_input: 2400,
      output: 1200,
      reasoning: 300,
      total: 7200,
    });
    assert.equal(summary.status, "running");
    assert.equal(summary.branch, "main");
    assert.equal(summary.broker_pid, 1);
  } finally {
    db.close();
  }
});

Deno.test("queryRunSummaries() filters by target, running and latest, newest first, with paging", async () => {
  await using dir = await tempDir();
  const db = Database.open(join(dir.path, "cmcs.db"));
  try {
    registerWorktree(db, "/a", "main");
    registerWorktree(db, "/b", "feat");
    const ids: Record<string, number> = {};
    for (
      const [name, target, status] of [
        ["a1", "/a", "completed"],
        ["b1", "/b", "failed"],
        ["a2", "/a", "stopped"],
        ["b2", "/b", "running"],
        ["a3", "/a", "running"],
      ] as const
    ) {
      const run = createRun(db, target, { pid: 999_999_999, start: null });
      if (status !== "running") finishRun(db, run.id, status);
      ids[name] = run.id;
    }
    const list = (filter: Parameters<typeof queryRunSummaries>[1]) =>
      queryRunSummaries(db, filter).map((s) => s.id);
    assert.deepEqual(list({ limit: 10 }), [ids.a3, ids.b2, ids.a2, ids.b1, ids.a1]);
    assert.deepEqual(list({ limit: 10, target: "/a" }), [ids.a3, ids.a2, ids.a1]);
    assert.deepEqual(list({ limit: 10, active: true }), [ids.a3, ids.b2]);
    assert.deepEqual(list({ limit: 10, latest: true }), [ids.a3, ids.b2]);
    assert.deepEqual(list({ limit: 10, latest: true, target: "/b" }), [ids.b2]);
    assert.deepEqual(list({ limit: 2, offset: 1 }), [ids.b2, ids.a2]);
    assert.deepEqual(list({ limit: 10, target: "/nowhere" }), []);
    const b1 = queryRunSummaries(db, { limit: 10, target: "/b" })[1];
    assert.equal(b1.status, "failed");
    assert.ok(b1.finished_at !== null);
    assert.equal(b1.current_ticket, null);
  } finally {
    db.close();
  }
});

Deno.test("two processes writing events at once never fail with 'database is locked'", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "cmcs.db");
  const setup = Database.open(path);
  registerWorktree(setup, "/repo", "main");
  const runA = createRun(setup, "/repo", { pid: 999_999_999, start: null }).id;
  const runB = createRun(setup, "/repo", { pid: 999_999_999, start: null }).id;
  setup.close();

  const script = join(dir.path, "writer.ts");
  const src = (file: string) => pathToFileURL(join(PROJECT_DIR, "src/core/db", file)).href;
  await Deno.writeTextFile(
    script,
    `import { Database } from "${src("database.ts")}";
import { recordEvent } from "${src("events.ts")}";
import { startAttempt, finishAttempt } from "${src("attempts.ts")}";
const [path, runId, go, otherRunId] = Deno.args;
while (true) { try { Deno.statSync(go); break; } catch { await new Promise((r) => setTimeout(r, 5)); } }
const db = Database.open(path);
// Two barriers (after 100 and 150 events each) guarantee that the writers' events interleave,
// however the machine schedules them.
const waitForOther = async (count: number) => {
  while ((db.get("SELECT COUNT(*) AS n FROM events WHERE run_id = ?", Number(otherRunId)) as { n: number }).n < count) {
    await new Promise((r) => setTimeout(r, 2));
  }
};
for (let i = 0; i < 200; i++) {
  if (i === 100 || i === 150) await waitForOther(i);
  recordEvent(db, { runId: Number(runId), event: "started", ticket: "T-" + i });
  if (i % 2 === 0) {
    const a = startAttempt(db, { runId: Number(runId), ticket: "T-" + i, title: null, kind: "first",
      model: null, reasoningEffort: null, commitBefore: null, logDir: runId });
    finishAttempt(db, a.id, { outcome: "done", message: null, exitCode: 0, signal: null,
      threadId: null, usage: null, finalMessage: null, resetsAt: null });
  }
}
db.close();
`,
  );
  const go = join(dir.path, "go");
  const writers = [[runA, runB], [runB, runA]].map(([runId, otherRunId]) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-read",
        "--allow-write",
        script,
        path,
        String(runId),
        go,
        String(otherRunId),
      ],
      cwd: PROJECT_DIR,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output()
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  await Deno.writeTextFile(go, "");
  const results = await Promise.all(writers);
  for (const result of results) {
    const stderr = new TextDecoder().decode(result.stderr);
    assert.doesNotMatch(stderr, /locked|busy/i);
    assert.equal(result.code, 0, stderr);
  }
  const db = Database.open(path);
  try {
    const a = runEvents(db, runA).map((e) => e.id);
    const b = runEvents(db, runB).map((e) => e.id);
    assert.equal(a.length, 200);
    assert.equal(b.length, 200);
    assert.ok(
      b.some((id) => id > a[0] && id < a[a.length - 1]),
      "the two writers really wrote at the same time",
    );
    assert.equal(db.all("SELECT * FROM attempts WHERE outcome = 'done'").length, 200);
    // A write from this process still goes through after both writers are done.
    recordEvent(db, { runId: runA, event: "warning", message: "after" });
  } finally {
    db.close();
  }
});

Deno.test("cmcs status shows the runs of a database written by the earlier tool", async () => {
  await using repo = await tempRepo();
  await Deno.mkdir(join(repo.path, ".cmcs"));
  writeLegacyDb(join(repo.path, ".cmcs", "cmcs.db"), repo.path);
  const result = await cmcs(["status", "--json"], { cwd: repo.path });
  assert.equal(result.code, 0, result.stderr);
  const runs = JSON.parse(result.stdout).runs as RunSummary[];
  assert.deepEqual(
    runs.map((r) => [r.id, r.status, r.tickets.started, r.tickets.done, r.tickets.failed]),
    [
      // Still "running" in the old database, with no broker on record: recovered.
      [4, "interrupted", 1, 0, 1],
      [3, "completed", 1, 1, 0],
      [2, "interrupted", 2, 0, 2],
      [1, "failed", 3, 2, 1],
    ],
  );
  assert.equal(runs[3].started_at, "2026-03-07T10:00:00.000Z");
  const text = await cmcs(["status"], { cwd: repo.path });
  assert.match(
    text.stdout,
    /^1\s+failed\s+\.\s+-\s+3\s+2\s+1\s+\d+\s+9m00s\s+-\s+2026-03-07T10:00:00Z$/m,
  );
});

Deno.test("Database keeps answering each statement with its own result past its statement cache", async () => {
  await using dir = await tempDir();
  const db = Database.open(join(dir.path, "cmcs.db"));
  try {
    db.run("CREATE TABLE t (n INTEGER)");
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 300; i++) {
        db.run(`INSERT INTO t (n) VALUES (? + ${i})`, round * 1000);
        const row = db.get(`SELECT ${i} AS i, COUNT(*) AS c FROM t WHERE n = ?`, round * 1000 + i);
        assert.deepEqual({ ...row }, { i, c: 1 });
      }
    }
    assert.equal(db.get<{ c: number }>("SELECT COUNT(*) AS c FROM t")?.c, 600);
  } finally {
    db.close();
  }
});
