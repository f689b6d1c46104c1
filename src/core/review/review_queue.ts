import type { Database } from "../db/database.ts";
import { reviewTargets, ticketReviewRows } from "../db/reviews.ts";
import { isDirectory } from "../project.ts";
import { type ReviewState, reviewState } from "./review_state.ts";

/** A ticket in the review queue: done and awaiting review, accepted, or sent back. */
export interface QueuedTicket {
  target: string;
  ticket: string;
  title: string | null;
  state: ReviewState;
  /** The run and attempt of the ticket's latest attempt. */
  run_id: number;
  attempt_id: number;
  finished_at: string | null;
  /** When the newest decision (acceptance, sending back) was recorded. */
  decided_at: string | null;
}

/**
 * The review queue of one target, or of every target whose directory still exists (a worktree
 * cleaned up or merged takes its unreviewed tickets with it), oldest latest attempt first.
 */
export function reviewQueue(
  db: Database,
  filter: { target?: string } = {},
): QueuedTicket[] {
  const queue: QueuedTicket[] = [];
  // Gone targets first, so their tickets are not even read: a project that has had many
  // worktrees keeps their rows for good.
  const targets = (filter.target !== undefined ? [filter.target] : reviewTargets(db))
    .filter((target) => isDirectory(target));
  for (const row of ticketReviewRows(db, { targets })) {
    const state = reviewState(row);
    if (state === null) continue;
    queue.push({
      target: row.target,
      ticket: row.ticket,
      title: row.title,
      state,
      run_id: row.run_id,
      attempt_id: row.attempt_id,
      finished_at: row.finished_at,
      decided_at: row.decided_at,
    });
  }
  return queue;
}

/** How many tickets are in each state. */
export function queueCounts(queue: QueuedTicket[]): Record<ReviewState, number> {
  const counts = { awaiting_review: 0, accepted: 0, sent_back: 0 };
  for (const t of queue) counts[t.state]++;
  return counts;
}
