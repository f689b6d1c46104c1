import type { Database, Param } from "./database.ts";
import { recordEvent } from "./events.ts";
import type { Outcome } from "./types.ts";
import { nowIso } from "../time.ts";

/** What the orchestrator decided about a ticket's attempt. */
export type ReviewDecision = "accepted" | "sent_back";

/**
 * A ticket on a target as the review queue sees it: its latest attempt (across runs) and the
 * newest decision recorded for the ticket there, which may concern an older attempt.
 */
export interface TicketReviewRow {
  target: string;
  ticket: string;
  title: string | null;
  attempt_id: number;
  run_id: number;
  /** Null while the latest attempt still runs. */
  outcome: Outcome | null;
  finished_at: string | null;
  decision: ReviewDecision | null;
  /** The attempt the newest decision was about. */
  decided_attempt_id: number | null;
  decided_at: string | null;
}

/**
 * Every ticket that ran on one of `filter.targets` (every target without them), optionally only
 * `tickets`, oldest latest attempt first. One statement over `latest_attempts` (one row per ticket
 * and target with its newest attempt and decision, kept by triggers: schema.ts), so its cost
 * follows the number of tickets, not of attempts or decisions.
 */
export function ticketReviewRows(
  db: Database,
  filter: { targets?: string[]; tickets?: string[] } = {},
): TicketReviewRow[] {
  const conditions: string[] = [];
  const params: Param[] = [];
  if (filter.targets !== undefined) {
    if (filter.targets.length === 0) return [];
    conditions.push(`l.target IN (${filter.targets.map(() => "?").join(", ")})`);
    params.push(...filter.targets);
  }
  if (filter.tickets !== undefined) {
    if (filter.tickets.length === 0) return [];
    conditions.push(`l.ticket IN (${filter.tickets.map(() => "?").join(", ")})`);
    params.push(...filter.tickets);
  }
  const where = conditions.length ? `WHERE ${conditions.join(" AND ")}` : "";
  return db.all<TicketReviewRow>(
    `SELECT l.target, l.ticket, a.title, a.id AS attempt_id, a.run_id, a.outcome, a.finished_at,
       v.decision, v.attempt_id AS decided_attempt_id, v.decided_at
     FROM latest_attempts l JOIN attempts a ON a.id = l.attempt_id
     LEFT JOIN reviews v ON v.id = l.review_id
     ${where}
     ORDER BY a.id`,
    ...params,
  );
}

export interface NewReview {
  target: string;
  ticket: string;
  attemptId: number;
  decision: ReviewDecision;
  /** The run the event belongs to: the accepted attempt's, or the resume's own run. */
  runId: number;
  message?: string | null;
}

/**
 * Records a decision and its event (`accepted` / `sent_back`, the dashboard's feed) in one
 * transaction, so the queue and the feed never disagree. Returns the time recorded.
 */
export function recordReview(db: Database, review: NewReview): string {
  const at = nowIso();
  db.transaction(() => {
    db.run(
      `INSERT INTO reviews (target, ticket, attempt_id, decision, decided_at, run_id, message)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      review.target,
      review.ticket,
      review.attemptId,
      review.decision,
      at,
      review.runId,
      review.message ?? null,
    );
    recordEvent(db, {
      runId: review.runId,
      event: review.decision,
      ticket: review.ticket,
      attemptId: review.attemptId,
      message: review.message ?? null,
    });
  });
  return at;
}

/** Every target a ticket ever ran on. */
export function reviewTargets(db: Database): string[] {
  return db.all<{ target: string }>("SELECT DISTINCT target FROM latest_attempts")
    .map((row) => row.target);
}
