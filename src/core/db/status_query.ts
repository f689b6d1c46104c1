import type { Database, Param } from "./database.ts";
import type { RunStatus } from "./types.ts";
import { secondsBetween } from "../time.ts";
import { sumTokens, type TokenColumns, type TokenTotals } from "../tokens.ts";

/**
 * One run with its ticket counts and token totals, as `status --json`, `wait` and the dashboard
 * show it. Field names are the JSON output's (snake_case, stable).
 */
export interface RunSummary {
  id: number;
  /** Absolute path of the repository or worktree the run worked on. */
  target: string;
  /** The target's branch as registered, or null when the target has no worktree record. */
  branch: string | null;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  /** finished − started, or now − started while the run is running. */
  duration_s: number;
  /** The ticket being worked on; null unless the run is running. */
  current_ticket: string | null;
  tickets: {
    /** Distinct tickets attempted in this run. */
    started: number;
    /** Distinct tickets whose latest attempt ended `done`. */
    done: number;
    /** Distinct tickets whose latest attempt ended with any other outcome. */
    failed: number;
  };
  /** Every attempt of the run added up (see {@link sumTokens}). */
  tokens: TokenTotals;
  message: string | null;
  broker_pid: number | null;
  worker_pid: number | null;
}

export interface RunFilter {
  /** Only runs of this target (absolute, real path, as stored). */
  target?: string;
  /** Only the run with this id. */
  id?: number;
  /** Only `running` runs. */
  active?: boolean;
  /** Only the newest run (highest id) of each target. */
  latest?: boolean;
  limit: number;
  offset?: number;
}

interface SummaryRow {
  id: number;
  worktree: string;
  branch: string | null;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  current_ticket: string | null;
  message: string | null;
  broker_pid: number | null;
  worker_pid: number | null;
  started: number | null;
  done: number | null;
  failed: number | null;
}

function whereClause(
  filter: Omit<RunFilter, "limit" | "offset">,
): { sql: string; params: Param[] } {
  const conditions: string[] = [];
  const params: Param[] = [];
  if (filter.target !== undefined) {
    conditions.push("r.worktree = ?");
    params.push(filter.target);
  }
  if (filter.id !== undefined) {
    conditions.push("r.id = ?");
    params.push(filter.id);
  }
  if (filter.active) conditions.push("r.status = 'running'");
  if (filter.latest) {
    conditions.push("r.id = (SELECT MAX(l.id) FROM runs l WHERE l.worktree = r.worktree)");
  }
  return { sql: conditions.length ? `WHERE ${conditions.join(" AND ")}` : "", params };
}

/**
 * A page of runs, newest first, with their ticket counts and token sums. The page of runs is
 * chosen first (by id, through the runs indexes), and only that page's attempts are read, looked
 * up through `attempts_by_run` (`CROSS JOIN` keeps SQLite from scanning every attempt instead), so
 * the cost does not grow with the size of the history. Tokens are added up by {@link sumTokens},
 * the one function every token total comes from.
 * A ticket retried within a run counts once, by its latest attempt; an attempt still open (no
 * outcome) counts as started but neither done nor failed.
 */
export function queryRunSummaries(db: Database, filter: RunFilter): RunSummary[] {
  const where = whereClause(filter);
  const rows = db.all<SummaryRow>(
    `WITH page AS (
       SELECT r.* FROM runs r ${where.sql}
       ORDER BY r.id DESC LIMIT ? OFFSET ?
     ),
     latest AS (
       SELECT a.run_id, MAX(a.id) AS id FROM page p CROSS JOIN attempts a ON a.run_id = p.id
       GROUP BY a.run_id, a.ticket
     ),
     counts AS (
       SELECT l.run_id, COUNT(*) AS started,
         SUM(a.outcome = 'done') AS done,
         SUM(a.outcome IS NOT NULL AND a.outcome <> 'done') AS failed
       FROM latest l JOIN attempts a ON a.id = l.id
       GROUP BY l.run_id
     )
     SELECT p.id, p.worktree, w.branch, p.status, p.started_at, p.finished_at, p.current_ticket,
       p.message, p.broker_pid, p.worker_pid, c.started, c.done, c.failed
     FROM page p
     LEFT JOIN counts c ON c.run_id = p.id
     LEFT JOIN worktrees w ON w.path = p.worktree
     ORDER BY p.id DESC`,
    ...where.params,
    filter.limit,
    filter.offset ?? 0,
  );
  const usage = runUsage(db, rows.map((row) => Number(row.id)));
  return rows.map((row) => toSummary(row, usage.get(Number(row.id)) ?? []));
}

/** The usage columns of every attempt of `runIds`, by run, through `attempts_by_run`. */
function runUsage(db: Database, runIds: number[]): Map<number, TokenColumns[]> {
  const byRun = new Map<number, TokenColumns[]>();
  // SQLite allows 32766 parameters; a page is far smaller, but a huge --limit must not fail.
  for (let i = 0; i < runIds.length; i += 500) {
    const ids = runIds.slice(i, i + 500);
    const rows = db.all<TokenColumns & { run_id: number }>(
      `SELECT run_id, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens
       FROM attempts WHERE run_id IN (${ids.map(() => "?").join(", ")})`,
      ...ids,
    );
    for (const row of rows) {
      const id = Number(row.run_id);
      const list = byRun.get(id);
      if (list) list.push(row);
      else byRun.set(id, [row]);
    }
  }
  return byRun;
}

/** How many runs match `filter` (ignoring limit and offset): the dashboard's page count. */
export function countRuns(db: Database, filter: Omit<RunFilter, "limit" | "offset">): number {
  const where = whereClause(filter);
  return Number(
    db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM runs r ${where.sql}`, ...where.params)?.n ?? 0,
  );
}

function toSummary(row: SummaryRow, usage: TokenColumns[]): RunSummary {
  const running = row.status === "running";
  return {
    id: Number(row.id),
    target: row.worktree,
    branch: row.branch,
    status: row.status,
    started_at: row.started_at,
    finished_at: row.finished_at,
    duration_s:
      Math.round(secondsBetween(row.started_at, running ? null : row.finished_at) * 1000) /
      1000,
    current_ticket: running ? row.current_ticket : null,
    tickets: {
      started: Number(row.started ?? 0),
      done: Number(row.done ?? 0),
      failed: Number(row.failed ?? 0),
    },
    tokens: sumTokens(usage),
    message: row.message,
    broker_pid: row.broker_pid === null ? null : Number(row.broker_pid),
    worker_pid: row.worker_pid === null ? null : Number(row.worker_pid),
  };
}
