/**
 * The dashboard's reads beyond the shared repositories: event pages with their run's target,
 * one run's summary, and which paths are targets this project knows (the only directories the
 * dashboard will read tickets from).
 */
import type { Database, Param } from "../core/db/database.ts";
import { queryRunSummaries, type RunSummary } from "../core/db/status_query.ts";
import type { AttemptRow, FileChange, RunRow } from "../core/db/types.ts";
import type { Project } from "../core/project.ts";
import type { EventView } from "./views.ts";

/** A page of events, newest first (optionally of one run, and not newer than `maxId`). */
export function eventPage(
  db: Database,
  filter: { runId?: number; maxId?: number; limit: number; offset: number },
): EventView[] {
  const { sql, params } = eventWhere(filter.runId, filter.maxId);
  return db.all<EventView>(
    `SELECT e.*, r.worktree AS target FROM events e JOIN runs r ON r.id = e.run_id ${sql}
     ORDER BY e.id DESC LIMIT ? OFFSET ?`,
    ...params,
    filter.limit,
    filter.offset,
  ).map(normalizeEvent);
}

/** How many events there are (of one run, not newer than `maxId`). */
export function countEvents(db: Database, filter: { runId?: number; maxId?: number }): number {
  const { sql, params } = eventWhere(filter.runId, filter.maxId);
  return Number(db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM events e ${sql}`, ...params)?.n);
}

/** Events after `afterId`, oldest first, at most `limit`: what a live stream sends next. */
export function eventsAfter(
  db: Database,
  afterId: number,
  limit: number,
  runId?: number,
): EventView[] {
  const params: Param[] = [afterId];
  let sql = "WHERE e.id > ?";
  if (runId !== undefined) {
    sql += " AND e.run_id = ?";
    params.push(runId);
  }
  return db.all<EventView>(
    `SELECT e.*, r.worktree AS target FROM events e JOIN runs r ON r.id = e.run_id ${sql}
     ORDER BY e.id LIMIT ?`,
    ...params,
    limit,
  ).map(normalizeEvent);
}

/** The newest event id (0 when there are none): where a live stream starts by default. */
export function latestEventId(db: Database): number {
  return Number(db.get<{ id: number | null }>("SELECT MAX(id) AS id FROM events")?.id ?? 0);
}

/** The summary of one run, in exactly the shape `cmcs status --json` gives it. */
export function runSummary(db: Database, run: RunRow): RunSummary | undefined {
  const newer = Number(
    db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM runs WHERE worktree = ? AND id > ?",
      run.worktree,
      run.id,
    )?.n ?? 0,
  );
  const [summary] = queryRunSummaries(db, { target: run.worktree, limit: 1, offset: newer });
  return summary?.id === run.id ? summary : undefined;
}

/**
 * True when `path` is a target this project knows: its root, a registered worktree, or the
 * target of a recorded run. Anything else is refused, so a request cannot make the dashboard read
 * an arbitrary directory.
 */
export function isKnownTarget(db: Database, project: Project, path: string): boolean {
  if (path === project.root) return true;
  return db.get("SELECT 1 AS x FROM worktrees WHERE path = ?", path) !== undefined ||
    db.get("SELECT 1 AS x FROM runs WHERE worktree = ? LIMIT 1", path) !== undefined;
}

/** An attempt as the API returns it: JSON columns decoded, the internal process token left out. */
export type AttemptView = Omit<AttemptRow, "files_changed" | "warnings" | "process_token"> & {
  files_changed: FileChange[];
  warnings: string[];
};

export function attemptView(row: AttemptRow): AttemptView {
  const { process_token: _token, files_changed, warnings, ...rest } = row;
  return {
    ...rest,
    files_changed: decodeList<FileChange>(files_changed),
    warnings: decodeList<string>(warnings),
  };
}

/** The newest attempt of a run (the one a live log follows), if any. */
export function latestAttempt(db: Database, runId: number): AttemptRow | undefined {
  return db.get<AttemptRow>(
    "SELECT * FROM attempts WHERE run_id = ? ORDER BY id DESC LIMIT 1",
    runId,
  );
}

function eventWhere(runId?: number, maxId?: number): { sql: string; params: Param[] } {
  const conditions: string[] = [];
  const params: Param[] = [];
  if (runId !== undefined) {
    conditions.push("e.run_id = ?");
    params.push(runId);
  }
  if (maxId !== undefined) {
    conditions.push("e.id <= ?");
    params.push(maxId);
  }
  return { sql: conditions.length ? `WHERE ${conditions.join(" AND ")}` : "", params };
}

function normalizeEvent(row: EventView): EventView {
  return {
    ...row,
    id: Number(row.id),
    run_id: Number(row.run_id),
    attempt_id: row.attempt_id === null ? null : Number(row.attempt_id),
  };
}

function decodeList<T>(text: string | null): T[] {
  if (!text) return [];
  try {
    const value = JSON.parse(text);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}
