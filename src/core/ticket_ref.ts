/**
 * The one reading of a ticket reference, for every command that takes one (`result`, `diff`,
 * `resume`, `logs --ticket`): a ticket named the same way names the same ticket everywhere.
 *
 * Rules, in order, against the ids a command can act on: the tickets that ran on the target for
 * `result`, `diff`, `accept` and `resume` (only those have a result or a Codex conversation; a
 * ticket file that never ran is no candidate, so it cannot make a number ambiguous in one of them
 * and not in another), the tickets of the run shown for `logs --ticket`:
 * 1. A path (`.cmcs/tickets/TICKET-002.md`) counts by its file name; a trailing `.md` is dropped.
 * 2. An id spelled exactly (`TICKET-002`, `TICKET-002-fix`) is that ticket, whatever else exists.
 * 3. An id spelled in other letter case (`ticket-002-fix`) is that ticket.
 * 4. A number, bare or after `ticket-` (`2`, `002`, `ticket-2`, `TICKET-2`), names every id whose
 *    number (the digits after `TICKET-`, leading zeros ignored) is that number, suffix or not:
 *    with TICKET-002 and TICKET-002-fix, `2` names both.
 * A reference naming several tickets is refused with {@link AmbiguousTicketRefError}, which lists
 * them, rather than guessing one: a guess could send feedback to the wrong Codex conversation.
 */
import { UserError } from "./errors.ts";

/** A reference that names several tickets; the message lists them, the hint says what to type. */
export class AmbiguousTicketRefError extends UserError {
  constructor(readonly ref: string, readonly candidates: string[]) {
    super(`"${ref}" names several tickets: ${candidates.join(", ")}`, {
      hint: `name one in full, e.g. ${candidates[0]}`,
    });
    this.name = "AmbiguousTicketRefError";
  }
}

/**
 * The id among `ids` that `ref` names (rules above), or undefined when it names none. Throws
 * {@link AmbiguousTicketRefError} when it names several.
 */
export function findTicketRef(ids: readonly string[], ref: string): string | undefined {
  const name = ref.trim().split("/").at(-1)!.replace(/\.md$/i, "");
  if (name === "") return undefined;
  if (ids.includes(name)) return name;
  const lower = name.toLowerCase();
  const fromCase = unique(ids.filter((id) => id.toLowerCase() === lower));
  const number = /^(?:ticket-)?(\d+)$/i.exec(name)?.[1];
  const candidates = fromCase.length > 0 || number === undefined
    ? fromCase
    : unique(ids.filter((id) => ticketNumber(id) === stripZeros(number)));
  if (candidates.length > 1) {
    const sorted = candidates.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    throw new AmbiguousTicketRefError(ref.trim(), sorted);
  }
  return candidates[0];
}

/** The number of `TICKET-<digits>…` without leading zeros (`TICKET-010-fix` → "10"); else null. */
function ticketNumber(id: string): string | null {
  const digits = /^TICKET-(\d+)(?!\d)/i.exec(id)?.[1];
  return digits === undefined ? null : stripZeros(digits);
}

function stripZeros(digits: string): string {
  return digits.replace(/^0+(?=\d)/, "");
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}
