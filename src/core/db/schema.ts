/**
 * The database schema, as an ordered list of migrations applied under `PRAGMA user_version`.
 * Migration 1 creates the tables from scratch, or upgrades a database written by the earlier
 * Python tool (same `worktrees`/`runs`/`events` tables, `user_version` 0) in place, keeping history.
 */

/** Columns added to the earlier tool's tables, and the columns of the fresh tables. */
const WORKTREE_COLUMNS = {
  base_ref: "TEXT",
  port: "INTEGER",
  archived_at: "TEXT",
} as const;

const RUN_COLUMNS = {
  broker_pid: "INTEGER",
  broker_start: "TEXT",
  current_ticket: "TEXT",
  message: "TEXT",
  stop_requested_at: "TEXT",
  options: "TEXT",
} as const;

const EVENT_COLUMNS = {
  attempt_id: "INTEGER REFERENCES attempts(id)",
  outcome: "TEXT",
  message: "TEXT",
} as const;

const ATTEMPTS = `
CREATE TABLE attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  ticket TEXT NOT NULL,
  title TEXT,
  number INTEGER NOT NULL DEFAULT 1,
  kind TEXT NOT NULL DEFAULT 'first',
  model TEXT,
  reasoning_effort TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  duration_s REAL,
  outcome TEXT,
  message TEXT,
  exit_code INTEGER,
  signal TEXT,
  worker_pid INTEGER,
  worker_start TEXT,
  process_token TEXT,
  thread_id TEXT,
  input_tokens INTEGER,
  cached_input_tokens INTEGER,
  output_tokens INTEGER,
  reasoning_output_tokens INTEGER,
  commit_before TEXT,
  commit_after TEXT,
  files_changed TEXT,
  final_message TEXT,
  warnings TEXT,
  log_dir TEXT,
  resets_at TEXT
)`;

const INDEXES = [
  "CREATE INDEX IF NOT EXISTS runs_by_worktree ON runs(worktree, id)",
  "CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status)",
  "CREATE INDEX IF NOT EXISTS events_by_run ON events(run_id, id)",
  "CREATE INDEX IF NOT EXISTS attempts_by_run ON attempts(run_id, id)",
  "CREATE INDEX IF NOT EXISTS attempts_by_ticket ON attempts(ticket, run_id)",
];

function columnsSql(columns: Record<string, string>): string {
  return Object.entries(columns).map(([name, type]) => `${name} ${type}`).join(",\n  ");
}

const FRESH = [
  `CREATE TABLE worktrees (
  path TEXT PRIMARY KEY,
  branch TEXT NOT NULL,
  created_at TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active',
  ${columnsSql(WORKTREE_COLUMNS)}
)`,
  `CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  worktree TEXT NOT NULL REFERENCES worktrees(path),
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL DEFAULT 'running',
  worker_pid INTEGER,
  ${columnsSql(RUN_COLUMNS)}
)`,
  ATTEMPTS,
  `CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  ticket TEXT NOT NULL,
  model TEXT,
  event TEXT NOT NULL,
  exit_code INTEGER,
  duration_s REAL,
  timestamp TEXT NOT NULL,
  ${columnsSql(EVENT_COLUMNS)}
)`,
];

/** SQL turning the earlier tool's `YYYY-MM-DD HH:MM:SS` (UTC) into this tool's ISO form. */
function isoFromLegacy(column: string): string {
  return `CASE WHEN ${column} LIKE '____-__-__ __:__:__' THEN replace(${column}, ' ', 'T') || '.000Z' ELSE ${column} END`;
}

/** `events e WHERE …` selecting the legacy events of the given names that belong to an attempt. */
function legacyEnd(...names: string[]): string {
  return `events e WHERE e.run_id = attempts.run_id AND e.id > attempts.id
       AND e.attempt_id = attempts.id AND e.event IN (${names.map((n) => `'${n}'`).join(", ")})`;
}

/** Upgrades the earlier tool's three tables in place and derives attempts from its events. */
const LEGACY_UPGRADE = [
  ...Object.entries(WORKTREE_COLUMNS).map(([c, t]) => `ALTER TABLE worktrees ADD COLUMN ${c} ${t}`),
  ...Object.entries(RUN_COLUMNS).map(([c, t]) => `ALTER TABLE runs ADD COLUMN ${c} ${t}`),
  ATTEMPTS,
  ...Object.entries(EVENT_COLUMNS).map(([c, t]) => `ALTER TABLE events ADD COLUMN ${c} ${t}`),
  `UPDATE worktrees SET created_at = ${isoFromLegacy("created_at")}`,
  `UPDATE runs SET started_at = ${isoFromLegacy("started_at")}, finished_at = ${
    isoFromLegacy("finished_at")
  }`,
  `UPDATE events SET timestamp = ${isoFromLegacy("timestamp")}`,
  // Indexes first: the derivation below looks events and attempts up by run.
  ...INDEXES,
  // Each legacy `started` event opens an attempt, which takes the event's id; every later
  // completed/failed/warning event of the same run and ticket up to the next `started` belongs
  // to it (events.attempt_id links them).
  `INSERT INTO attempts (id, run_id, ticket, model, started_at, message)
   SELECT id, run_id, ticket, model, timestamp, 'migrated from the earlier cmcs'
   FROM events WHERE event = 'started' ORDER BY id`,
  `UPDATE events SET attempt_id = (SELECT MAX(s.id) FROM events s WHERE s.run_id = events.run_id
     AND s.id <= events.id AND s.ticket = events.ticket AND s.event = 'started')
   WHERE event IN ('started', 'completed', 'failed', 'warning')`,
  // The earlier tool recorded exit-0-but-not-done as `completed` then `failed(0)` and a timeout
  // as `failed(-1)` with the timeout as duration; those become their own outcomes here.
  `UPDATE attempts SET
     finished_at = (SELECT MAX(e.timestamp) FROM ${legacyEnd("completed", "failed")}),
     duration_s = (SELECT e.duration_s FROM ${
    legacyEnd("completed", "failed")
  } AND e.duration_s IS NOT NULL ORDER BY e.id LIMIT 1),
     exit_code = (SELECT e.exit_code FROM ${
    legacyEnd("completed", "failed")
  } ORDER BY e.id LIMIT 1),
     outcome = CASE
       WHEN EXISTS (SELECT 1 FROM ${legacyEnd("failed")} AND e.exit_code = 0)
         AND EXISTS (SELECT 1 FROM ${legacyEnd("completed")}) THEN 'not_marked_done'
       WHEN EXISTS (SELECT 1 FROM ${legacyEnd("failed")} AND e.exit_code = -1) THEN 'timeout_total'
       WHEN EXISTS (SELECT 1 FROM ${legacyEnd("failed")}) THEN 'worker_failed'
       WHEN EXISTS (SELECT 1 FROM ${legacyEnd("completed")}) THEN 'done'
       ELSE NULL END,
     warnings = CASE WHEN EXISTS (SELECT 1 FROM ${legacyEnd("warning")})
       THEN '["auto-commit failed (recorded by the earlier cmcs)"]' ELSE NULL END`,
  // An attempt with no result in a run that has ended (the earlier broker crashed, or was
  // recovered as interrupted) is closed with the run, so it counts as failed rather than open.
  `UPDATE attempts SET
     outcome = CASE (SELECT r.status FROM runs r WHERE r.id = attempts.run_id)
       WHEN 'stopped' THEN 'stopped' ELSE 'worker_failed' END,
     finished_at = (SELECT r.finished_at FROM runs r WHERE r.id = attempts.run_id),
     message = 'migrated from the earlier cmcs: no result was recorded before the run ended'
   WHERE outcome IS NULL
     AND (SELECT r.status FROM runs r WHERE r.id = attempts.run_id) <> 'running'`,
  `UPDATE attempts SET number = (SELECT COUNT(*) FROM attempts a WHERE a.run_id = attempts.run_id
     AND a.ticket = attempts.ticket AND a.id <= attempts.id)`,
  // The earlier tool only ever retried a ticket with its fallback model.
  `UPDATE attempts SET kind = 'fallback' WHERE number > 1`,
  `UPDATE runs SET current_ticket = (SELECT a.ticket FROM attempts a WHERE a.run_id = runs.id
     AND a.outcome IS NULL ORDER BY a.id DESC LIMIT 1) WHERE status = 'running'`,
  // A finished run's worker pid names a long-dead process (the earlier tool never cleared it).
  `UPDATE runs SET worker_pid = NULL WHERE status <> 'running'`,
];

export interface Migration {
  version: number;
  description: string;
  /** Statements to run; `legacy` is true when upgrading the earlier tool's database. */
  statements(legacy: boolean): string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "worktrees, runs, attempts and events",
    statements: (legacy) => [...(legacy ? LEGACY_UPGRADE : FRESH), ...INDEXES],
  },
  {
    version: 2,
    description: "queued targets: which broker holds a target waiting for a run.max_parallel slot",
    statements: () => [
      "ALTER TABLE worktrees ADD COLUMN queued_at TEXT",
      "ALTER TABLE worktrees ADD COLUMN queued_broker_pid INTEGER",
      "ALTER TABLE worktrees ADD COLUMN queued_broker_start TEXT",
    ],
  },
  {
    version: 3,
    description:
      "crash-consistent commits: an attempt's ticket file, the edits that predate it, and the " +
      "commit it is about to make, so recovery can finish what a dead broker left half done",
    statements: () => [
      "ALTER TABLE attempts ADD COLUMN ticket_path TEXT",
      "ALTER TABLE attempts ADD COLUMN dirty_before TEXT",
      "ALTER TABLE attempts ADD COLUMN commit_pending TEXT",
      `CREATE INDEX IF NOT EXISTS attempts_unsettled ON attempts(run_id)
         WHERE outcome IS NULL OR commit_pending IS NOT NULL`,
    ],
  },
  {
    version: 4,
    description:
      "the review queue: the orchestrator's decision (accepted, sent back) on a ticket's attempt",
    statements: () => [
      `CREATE TABLE reviews (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  target TEXT NOT NULL,
  ticket TEXT NOT NULL,
  attempt_id INTEGER NOT NULL REFERENCES attempts(id),
  decision TEXT NOT NULL CHECK (decision IN ('accepted', 'sent_back')),
  decided_at TEXT NOT NULL,
  run_id INTEGER REFERENCES runs(id),
  message TEXT
)`,
      "CREATE INDEX reviews_by_ticket ON reviews(target, ticket, id)",
    ],
  },
  {
    version: 5,
    description:
      "each ticket's newest attempt and newest review decision per target, kept by the database " +
      "itself, so the review queue that `status` and `brief` read on every prompt does not group " +
      "every attempt ever made",
    statements: () => [
      `CREATE TABLE latest_attempts (
  target TEXT NOT NULL,
  ticket TEXT NOT NULL,
  attempt_id INTEGER NOT NULL REFERENCES attempts(id),
  review_id INTEGER REFERENCES reviews(id),
  PRIMARY KEY (target, ticket)
) WITHOUT ROWID`,
      `INSERT INTO latest_attempts (target, ticket, attempt_id, review_id)
         SELECT r.worktree, a.ticket, MAX(a.id),
           (SELECT MAX(v.id) FROM reviews v WHERE v.target = r.worktree AND v.ticket = a.ticket)
         FROM attempts a JOIN runs r ON r.id = a.run_id
         GROUP BY r.worktree, a.ticket`,
      // Triggers, not the broker's inserts: every writer keeps the table, in the same transaction
      // as the attempt or the decision (an older cmcs cannot open this schema). Attempts and
      // reviews are never deleted, and a run never changes target. A decision always concerns an
      // attempt that ran, so its ticket's row exists.
      `CREATE TRIGGER attempts_keep_latest AFTER INSERT ON attempts BEGIN
  INSERT INTO latest_attempts (target, ticket, attempt_id)
    SELECT worktree, NEW.ticket, NEW.id FROM runs WHERE id = NEW.run_id
    ON CONFLICT (target, ticket) DO UPDATE SET attempt_id = excluded.attempt_id
      WHERE excluded.attempt_id > latest_attempts.attempt_id;
END`,
      `CREATE TRIGGER reviews_keep_latest AFTER INSERT ON reviews BEGIN
  UPDATE latest_attempts SET review_id = NEW.id
    WHERE target = NEW.target AND ticket = NEW.ticket
      AND (review_id IS NULL OR review_id < NEW.id);
END`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
