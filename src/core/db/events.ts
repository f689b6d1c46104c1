import type { Database } from "./database.ts";
import type { EventName, EventRow } from "./types.ts";
import { nowIso } from "../time.ts";

export interface NewEvent {
  runId: number;
  event: EventName;
  ticket?: string;
  model?: string | null;
  attemptId?: number | null;
  exitCode?: number | null;
  durationS?: number | null;
  outcome?: string | null;
  message?: string | null;
}

/** Appends one event and returns its id. Events are the dashboard's live feed and the audit log. */
export function recordEvent(db: Database, e: NewEvent): number {
  return db.run(
    `INSERT INTO events (run_id, ticket, model, event, exit_code, duration_s, timestamp, attempt_id, outcome, message)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    e.runId,
    e.ticket ?? "",
    e.model ?? null,
    e.event,
    e.exitCode ?? null,
    e.durationS ?? null,
    nowIso(),
    e.attemptId ?? null,
    e.outcome ?? null,
    e.message ?? null,
  ).lastInsertRowid;
}

/** Events of one run in order. */
export function runEvents(db: Database, runId: number): EventRow[] {
  return db.all<EventRow>("SELECT * FROM events WHERE run_id = ? ORDER BY id", runId);
}

/** Events with an id greater than `afterId` (all runs), oldest first, at most `limit`. */
export function eventsAfter(db: Database, afterId: number, limit = 500): EventRow[] {
  return db.all<EventRow>("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", afterId, limit);
}

/** The message of the run's latest `stop_requested` event: who asked (`cmcs stop`, the dashboard). */
export function lastStopSource(db: Database, runId: number): string | null {
  return db.get<{ message: string | null }>(
    "SELECT message FROM events WHERE run_id = ? AND event = 'stop_requested' ORDER BY id DESC LIMIT 1",
    runId,
  )?.message ?? null;
}
