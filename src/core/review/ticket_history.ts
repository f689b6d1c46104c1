import { UserError } from "../errors.ts";
import type { Database } from "../db/database.ts";
import { targetTicketAttempts, ticketsRunOn } from "../db/attempts.ts";
import type { AttemptRow } from "../db/types.ts";
import { findTicketRef } from "../ticket_ref.ts";

/** One ticket's attempts on one target, oldest first, as review commands see them. */
export interface TicketHistory {
  ticket: string;
  /**
   * The attempts that make up the ticket's current piece of work: from the latest attempt back to
   * the start of the work (see {@link ticketHistory}). Never empty.
   */
  attempts: AttemptRow[];
  /** Every attempt of the ticket on the target, across runs, oldest first. */
  all: AttemptRow[];
}

/**
 * The ticket a review command acts on: the one `ref` names (`TICKET-002`, `2`, `ticket-2.md`)
 * among the tickets that ever ran on `target`, or, without `ref`, the ticket of the target's
 * newest attempt. A clear error when nothing ran there, when `ref` matches no ticket that ran, or
 * when it names several (src/core/ticket_ref.ts).
 */
export function resolveReviewTicket(
  db: Database,
  target: string,
  label: string,
  ref: string | undefined,
): string {
  const ids = ticketsRunOn(db, target);
  if (ids.length === 0) {
    throw new UserError(`no ticket has run on ${label} yet`, {
      hint: `start one with \`cmcs run ${label}\``,
    });
  }
  if (ref === undefined) return ids[0];
  const id = findTicketRef(ids, ref);
  if (!id) {
    const shown = ids.slice(0, 10).join(", ") + (ids.length > 10 ? ", …" : "");
    throw new UserError(`no ticket "${ref}" has run on ${label}`, {
      hint: `tickets that ran there, newest first: ${shown}`,
    });
  }
  return id;
}

/**
 * The attempts of a ticket's current piece of work on a target. Attempts are collected across
 * runs (a re-run after a failure, a `cmcs resume` in a run of its own) back to the most recent
 * `first` attempt that followed a `done` one: a ticket that was done and then ran afresh (reopened
 * by hand, or a ticket id reused for new work) starts a new piece of work, while a `resume` after
 * `done` continues the old one. Null when the ticket never ran on the target.
 */
export function ticketHistory(
  db: Database,
  target: string,
  ticket: string,
): TicketHistory | null {
  const all = targetTicketAttempts(db, target, ticket);
  if (all.length === 0) return null;
  let start = 0;
  for (let i = all.length - 1; i > 0; i--) {
    if (all[i].kind === "first" && all[i - 1].outcome === "done") {
      start = i;
      break;
    }
  }
  return { ticket, attempts: all.slice(start), all };
}

/** The newest attempt of the history that recorded a Codex thread id, if any. */
export function latestThreadAttempt(history: TicketHistory): AttemptRow | null {
  for (let i = history.attempts.length - 1; i >= 0; i--) {
    if (history.attempts[i].thread_id) return history.attempts[i];
  }
  return null;
}

/**
 * Paths that the attempts since the ticket's last commit changed without committing them
 * (auto-commit off, or attempts that did not end done): the ticket's own pending work, even though
 * it is in no commit. Attempts before a commit count no more: their work went into it, and a later
 * edit of the same files is someone else's.
 */
export function uncommittedAttemptPaths(history: TicketHistory): string[] {
  const paths = new Set<string>();
  for (let i = history.attempts.length - 1; i >= 0; i--) {
    const attempt = history.attempts[i];
    if (attempt.commit_after) break;
    for (const change of parseFiles(attempt.files_changed)) paths.add(change.path);
  }
  return [...paths];
}

/** The `files_changed` JSON of an attempt, decoded; an unreadable value gives no files. */
export function parseFiles(
  json: string | null,
): { path: string; added: number | null; removed: number | null }[] {
  if (!json) return [];
  try {
    const value = JSON.parse(json);
    return Array.isArray(value) ? value.filter((c) => typeof c?.path === "string") : [];
  } catch {
    return [];
  }
}

/** The `warnings` JSON of an attempt, decoded. */
export function parseWarnings(json: string | null): string[] {
  if (!json) return [];
  try {
    const value = JSON.parse(json);
    return Array.isArray(value) ? value.map(String) : [];
  } catch {
    return [];
  }
}
