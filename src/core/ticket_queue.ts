/**
 * Which tickets a run acts on, worked out once for the runner (`cmcs run`), its progress count,
 * its "skipped" announcements, `run --dry-run` and `run --all`'s choice of targets, so a dry run
 * never promises what the real run does not do.
 */
import type { Ticket, TicketEntry } from "./ticket_parse.ts";

type BrokenEntry = Extract<TicketEntry, { ok: false }>;

/** What a run does with a target's tickets, read in run order (natural file-name order). */
export interface TicketQueue {
  /**
   * Open Codex tickets, in the order a run dispatches them: only those before the first malformed
   * ticket, because the run stops there.
   */
  dispatch: Ticket[];
  /** Open tickets for another agent that the run passes over (before the first malformed one). */
  skipped: Ticket[];
  /**
   * The first malformed ticket: the run fails there with its problem and dispatches nothing after
   * it. Null when every ticket parsed.
   */
  blockedBy: BrokenEntry | null;
  /** Index in the entries of what the run acts on next (a dispatch or the block); null: nothing. */
  next: number | null;
  /** How many tickets the run acts on if each ends done: the dispatches and the block. */
  pending: number;
}

/** True for a ticket cmcs dispatches (to Codex) when it is not done yet. */
export function isCodexTicket(ticket: Ticket): boolean {
  return ticket.agent === "codex";
}

/**
 * The queue of `entries` (as {@link discoverTickets} returns them). Done tickets are passed over
 * whatever their agent; a malformed ticket blocks, whether or not it would have been done, since
 * its `done` and `agent` cannot be trusted.
 */
export function ticketQueue(entries: TicketEntry[]): TicketQueue {
  const dispatch: Ticket[] = [];
  const skipped: Ticket[] = [];
  let blockedBy: BrokenEntry | null = null;
  let next: number | null = null;
  for (const [i, entry] of entries.entries()) {
    if (!entry.ok) {
      blockedBy = entry;
      next ??= i;
      break;
    }
    const ticket = entry.ticket;
    if (ticket.done) continue;
    if (!isCodexTicket(ticket)) {
      skipped.push(ticket);
      continue;
    }
    dispatch.push(ticket);
    next ??= i;
  }
  return { dispatch, skipped, blockedBy, next, pending: dispatch.length + (blockedBy ? 1 : 0) };
}
