/**
 * Matches a user's ticket reference against known ticket ids: `TICKET-002`, `TICKET-002.md`,
 * `ticket-2`, `2` and `002` all name `TICKET-002`. Returns the id, or undefined when none or
 * several match.
 */
export function findTicketRef(ids: string[], ref: string): string | undefined {
  const clean = ref.trim().replace(/\.md$/i, "");
  const exact = ids.find((id) => id === clean);
  if (exact) return exact;
  const number = /^(?:ticket-)?0*(\d+)$/i.exec(clean)?.[1];
  if (number === undefined) return ids.find((id) => id.toLowerCase() === clean.toLowerCase());
  const matches = ids.filter((id) => /^TICKET-0*(\d+)/.exec(id)?.[1] === number);
  return matches.length === 1 ? matches[0] : undefined;
}
