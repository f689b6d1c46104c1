import type { Database } from "./database.ts";
import type { Outcome } from "./types.ts";

/** A ticket of a run as its latest attempt in that run left it. */
export interface RunTicketOutcome {
  run_id: number;
  ticket: string;
  title: string | null;
  /** Null while the attempt is still open. */
  outcome: Outcome | null;
  message: string | null;
  finished_at: string | null;
}

/**
 * The tickets each of `runIds` attempted, in the order they were first attempted, each with the
 * outcome of its latest attempt in that run (a retried ticket appears once). Reads only the given
 * runs' attempts through the `attempts_by_run` index, so the cost does not grow with history.
 */
export function runTicketOutcomes(db: Database, runIds: number[]): RunTicketOutcome[] {
  if (runIds.length === 0) return [];
  const placeholders = runIds.map(() => "?").join(", ");
  return db.all<RunTicketOutcome>(
    `WITH latest AS (
       SELECT a.run_id, a.ticket, MIN(a.id) AS first_id, MAX(a.id) AS id
       FROM attempts a WHERE a.run_id IN (${placeholders})
       GROUP BY a.run_id, a.ticket
     )
     SELECT a.run_id, a.ticket, a.title, a.outcome, a.message, a.finished_at
     FROM latest l JOIN attempts a ON a.id = l.id
     ORDER BY l.run_id DESC, l.first_id`,
    ...runIds,
  );
}
