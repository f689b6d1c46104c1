/**
 * Tickets: markdown files with a YAML front matter in `<target>/.cmcs/tickets/TICKET-*.md`. This
 * module is the one import the rest of cmcs uses; the work is split by concern:
 * parsing (ticket_parse.ts), discovery and lookup (ticket_discovery.ts), editing `done`
 * (ticket_edit.ts), which tickets a run acts on (ticket_queue.ts), the `ticket new` template
 * (ticket_template.ts) and the JSON shape of a listed ticket (ticket_json.ts).
 */
export {
  parseTicket,
  REASONING_EFFORTS,
  type ReasoningEffort,
  type Ticket,
  type TicketEntry,
  ticketId,
  type TicketProblem,
  ticketProblemLine,
} from "./ticket_parse.ts";
export {
  compareTicketNames,
  discoverTickets,
  findTicket,
  nextTicketPath,
  previousProgress,
  requireTicketsDir,
  resolveTicketsDir,
  TICKET_FILE,
} from "./ticket_discovery.ts";
export { setTicketDone } from "./ticket_edit.ts";
export { isCodexTicket, type TicketQueue, ticketQueue } from "./ticket_queue.ts";
export { type TicketJson, ticketJson } from "./ticket_json.ts";
export { renderTicketTemplate } from "./ticket_template.ts";
