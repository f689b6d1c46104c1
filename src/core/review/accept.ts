/**
 * Accepting tickets: the orchestrator's "this work is taken" for tickets whose latest attempt
 * ended `done`. The one implementation behind `cmcs accept` (and any other front end, such as an
 * MCP server), so each gets the same checks, the same all-or-nothing write and the same result.
 */
import { relative } from "../path.ts";
import { UserError } from "../errors.ts";
import { Database } from "../db/database.ts";
import { recordReview, type TicketReviewRow, ticketReviewRows } from "../db/reviews.ts";
import type { Project } from "../project.ts";
import { recoverOrphans } from "../recovery.ts";
import { resolveReviewTicket } from "./ticket_history.ts";

export interface AcceptedTicket {
  ticket: string;
  title: string | null;
  run_id: number;
  /** The attempt whose work was accepted: the ticket's latest, which ended `done`. */
  attempt_id: number;
  accepted_at: string;
  /** True when this attempt had been accepted before: nothing was recorded this time. */
  already: boolean;
}

export interface AcceptResult {
  target: string;
  tickets: AcceptedTicket[];
}

/** A ticket `accept` refused, and why: its latest attempt's outcome (null while it runs). */
export interface NotDoneTicket {
  ticket: string;
  run_id: number;
  outcome: TicketReviewRow["outcome"];
}

/** Some of the named tickets are not done; none of them was accepted. */
export class TicketsNotDoneError extends UserError {
  constructor(readonly tickets: NotDoneTicket[], label: string) {
    const [first, ...rest] = tickets;
    const more = rest.length > 0 ? ` (also not done: ${rest.map((t) => t.ticket).join(", ")})` : "";
    super(`${first.ticket} is not done: ${why(first)}${more}; nothing was accepted`, {
      hint: first.outcome === null
        ? `wait for it with \`cmcs wait ${label}\`, then review it with \`cmcs result ${label} ${first.ticket}\``
        : `review it with \`cmcs result ${label} ${first.ticket}\`, then \`cmcs run ${label}\` ` +
          `or \`cmcs resume ${label} ${first.ticket} -m "<feedback>"\``,
    });
    this.name = "TicketsNotDoneError";
  }
}

function why(t: NotDoneTicket): string {
  return t.outcome === null
    ? `its attempt in run ${t.run_id} is still running`
    : `its latest attempt (run ${t.run_id}) ended ${t.outcome}`;
}

/**
 * Accepts the tickets `refs` name (`TICKET-002`, `2`, `ticket-2.md`) on `target`: records the
 * decision and an `accepted` event for each ticket's latest attempt. All or nothing: when a ref
 * names no ticket that ran there, or a ticket whose latest attempt did not end `done` (failed,
 * still running), nothing is recorded and a {@link UserError} says which. Accepting an accepted
 * attempt again records nothing and reports `already: true`. The check and the writes share one
 * `BEGIN IMMEDIATE` transaction, so a run starting a new attempt meanwhile cannot slip between.
 * A dead broker's half-done run is recovered first, so its attempt is not taken for running.
 */
export async function acceptTickets(
  project: Project,
  target: string,
  refs: string[],
): Promise<AcceptResult> {
  const label = relative(project.root, target) || ".";
  const db = Database.open(project.dbPath);
  try {
    await recoverOrphans(db);
    const tickets = [...new Set(refs.map((ref) => resolveReviewTicket(db, target, label, ref)))];
    return db.transaction(() => {
      const rows = new Map(
        ticketReviewRows(db, { targets: [target], tickets }).map((row) => [row.ticket, row]),
      );
      const notDone = tickets.map((t) => rows.get(t)!).filter((row) => row.outcome !== "done");
      if (notDone.length > 0) {
        throw new TicketsNotDoneError(
          notDone.map((row) => ({ ticket: row.ticket, run_id: row.run_id, outcome: row.outcome })),
          label,
        );
      }
      const accepted = tickets.map((ticket): AcceptedTicket => {
        const row = rows.get(ticket)!;
        const already = row.decision === "accepted" && row.decided_attempt_id === row.attempt_id;
        const at = already ? row.decided_at! : recordReview(db, {
          target,
          ticket,
          attemptId: row.attempt_id,
          decision: "accepted",
          runId: row.run_id,
        });
        return {
          ticket,
          title: row.title,
          run_id: row.run_id,
          attempt_id: row.attempt_id,
          accepted_at: at,
          already,
        };
      });
      return { target, tickets: accepted };
    });
  } finally {
    db.close();
  }
}
