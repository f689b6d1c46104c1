import type { TicketReviewRow } from "../db/reviews.ts";

/**
 * Where a ticket stands in the review queue:
 * - `awaiting_review`: its latest attempt ended `done` and nobody decided about that attempt yet
 *   (a new attempt, by `cmcs run` or `cmcs resume`, puts an accepted ticket back in the queue);
 * - `accepted`: `cmcs accept` took that attempt's work;
 * - `sent_back`: `cmcs resume` sent it back and the new attempt has not ended `done` (yet).
 *
 * Null for a ticket that is not done and was never sent back (running, failed, not marked done).
 */
export type ReviewState = "awaiting_review" | "accepted" | "sent_back";

export function reviewState(row: TicketReviewRow): ReviewState | null {
  if (row.outcome === "done") {
    return row.decided_attempt_id === row.attempt_id && row.decision !== null
      ? row.decision
      : "awaiting_review";
  }
  return row.decision === "sent_back" ? "sent_back" : null;
}

/**
 * The review state of one attempt at a ticket (a run page shows the run's last attempt): the
 * ticket's state while that attempt is still its latest, `sent_back` when a later resume sent
 * exactly this attempt back, and none when a later run has taken the ticket further.
 */
export function attemptReviewState(
  row: TicketReviewRow | undefined,
  attemptId: number,
): ReviewState | null {
  if (!row) return null;
  if (row.attempt_id === attemptId) return reviewState(row);
  return row.decision === "sent_back" && row.decided_attempt_id === attemptId ? "sent_back" : null;
}

/** A key for looking a ticket's row up by target and ticket id. */
export function reviewKey(target: string, ticket: string): string {
  return `${target}\u0000${ticket}`;
}

/** The review state of each ticket, by {@link reviewKey}. */
export function reviewStates(rows: TicketReviewRow[]): Map<string, ReviewState | null> {
  return new Map(rows.map((row) => [reviewKey(row.target, row.ticket), reviewState(row)]));
}
