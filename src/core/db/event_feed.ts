/**
 * Events as the dashboard's feed shows them: each with the target of its run, so a feed can name
 * it without another lookup. Pages are newest first and stop at `maxId`, so a page rendered before
 * new events arrived stays the same page; a live stream asks for what came after an id.
 */
import type { Database, Param } from "./database.ts";
import type { EventRow } from "./types.ts";

/** An event row with the target (worktree path) of its run. */
export interface FeedEvent extends EventRow {
  target: string;
}

/** A page of events, newest first (optionally of one run, and not newer than `maxId`). */
export function eventPage(
  db: Database,
  filter: { runId?: number; maxId?: number; limit: number; offset: number },
): FeedEvent[] {
  const { sql, params } = eventWhere(filter.runId, filter.maxId);
  return db.all<FeedEvent>(
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
export function feedEventsAfter(
  db: Database,
  afterId: number,
  limit: number,
  runId?: number,
): FeedEvent[] {
  const params: Param[] = [afterId];
  let sql = "WHERE e.id > ?";
  if (runId !== undefined) {
    sql += " AND e.run_id = ?";
    params.push(runId);
  }
  return db.all<FeedEvent>(
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

/** SQLite hands back integers as numbers or bigints depending on size; the JSON wants numbers. */
function normalizeEvent(row: FeedEvent): FeedEvent {
  return {
    ...row,
    id: Number(row.id),
    run_id: Number(row.run_id),
    attempt_id: row.attempt_id === null ? null : Number(row.attempt_id),
  };
}
