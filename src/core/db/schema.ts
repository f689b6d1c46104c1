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
  // Each legacy `started` event opens an attempt; the next completed/failed event of the same
  // run and ticket closes it. A `failed` after a `completed` (exit 0 but not marked done) wins.
  `INSERT INTO attempts (run_id, ticket, model, started_at, finished_at, duration_s, outcome, exit_code, message)
   SELECT s.run_id, s.ticket, s.model, s.timestamp,
     (SELECT e.timestamp FROM events e WHERE e.run_id = s.run_id AND e.ticket = s.ticket AND e.id > s.id
        AND e.event IN ('completed','failed') ORDER BY e.id DESC LIMIT 1),
     (SELECT e.duration_s FROM events e WHERE e.run_id = s.run_id AND e.ticket = s.ticket AND e.id > s.id
        AND e.event IN ('completed','failed') AND e.duration_s IS NOT NULL ORDER BY e.id LIMIT 1),
     CASE (SELECT e.event FROM events e WHERE e.run_id = s.run_id AND e.ticket = s.ticket AND e.id > s.id
             AND e.event IN ('completed','failed','started')
             AND NOT EXISTS (SELECT 1 FROM events n WHERE n.run_id = s.run_id AND n.ticket = s.ticket
                             AND n.event = 'started' AND n.id > s.id AND n.id < e.id)
           ORDER BY (e.event = 'failed') DESC, e.id LIMIT 1)
       WHEN 'completed' THEN 'done'
       WHEN 'failed' THEN 'worker_failed'
       ELSE NULL END,
     (SELECT e.exit_code FROM events e WHERE e.run_id = s.run_id AND e.ticket = s.ticket AND e.id > s.id
        AND e.event IN ('completed','failed') ORDER BY e.id LIMIT 1),
     'migrated from the earlier cmcs'
   FROM events s WHERE s.event = 'started' ORDER BY s.id`,
  `UPDATE attempts SET number = (SELECT COUNT(*) FROM attempts a WHERE a.run_id = attempts.run_id
     AND a.ticket = attempts.ticket AND a.id <= attempts.id)`,
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
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
