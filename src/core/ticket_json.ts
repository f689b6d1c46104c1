import { nearMissFields } from "./ticket_field_hints.ts";
import type { TicketEntry } from "./ticket_parse.ts";

/**
 * One ticket as `cmcs ticket validate --json` and the dashboard's `GET /api/tickets` list it. Every
 * field is present for both kinds of entry, so a consumer never tests for a missing key: a
 * malformed ticket has `ok: false`, null metadata and at least one problem; a valid one has
 * `problems: []`. `warnings` name unknown fields that look like misspelled known ones.
 */
export interface TicketJson {
  file: string;
  id: string;
  ok: boolean;
  title: string | null;
  done: boolean | null;
  agent: string | null;
  model: string | null;
  reasoning_effort: string | null;
  problems: { line: number | null; message: string }[];
  warnings: string[];
}

/**
 * The stable JSON shape of a discovered ticket. A problem keeps only its line (null when it is not
 * about a line) and message: the absolute path is left out, since the listing already names the
 * tickets directory.
 */
export function ticketJson(entry: TicketEntry): TicketJson {
  if (entry.ok) {
    const t = entry.ticket;
    return {
      file: t.file,
      id: t.id,
      ok: true,
      title: t.title,
      done: t.done,
      agent: t.agent,
      model: t.model,
      reasoning_effort: t.reasoning_effort,
      problems: [],
      warnings: nearMissFields(t.fields),
    };
  }
  return {
    file: entry.file,
    id: entry.id,
    ok: false,
    title: null,
    done: null,
    agent: null,
    model: null,
    reasoning_effort: null,
    problems: entry.problems.map((p) => ({ line: p.line, message: p.message })),
    warnings: [],
  };
}
