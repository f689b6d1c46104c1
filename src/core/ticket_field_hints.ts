/**
 * Unknown front matter fields are kept (a ticket may carry notes of its own), so a misspelled
 * known field (`titel:`, `don: true`) would pass unnoticed: the ticket runs untitled, or not done.
 * These hints name the field it was probably meant to be.
 */
import { editDistance } from "./edit_distance.ts";

/** The front matter fields cmcs reads. */
export const TICKET_FIELDS = [
  "title",
  "agent",
  "done",
  "model",
  "reasoning_effort",
  "timeout_s",
  "auto_commit",
] as const;

/**
 * One warning per unknown field that looks like a known one: the same but for case, a few typing
 * slips away (edit distance ≤ 2, for names of 3 or more characters), or one word of a two-word
 * field (`effort`, `timeout`). Fields unlike any known one are notes and get no warning.
 */
export function nearMissFields(fields: Record<string, unknown>): string[] {
  const known = new Set<string>(TICKET_FIELDS);
  const warnings: string[] = [];
  for (const key of Object.keys(fields)) {
    if (known.has(key)) continue;
    const lower = key.toLowerCase();
    const match = TICKET_FIELDS.find((field) =>
      field === lower ||
      (lower.length >= 3 && editDistance(lower, field) <= 2) ||
      field.split("_").includes(lower)
    );
    if (match) warnings.push(`unknown field "${key}": did you mean ${match}?`);
  }
  return warnings;
}
