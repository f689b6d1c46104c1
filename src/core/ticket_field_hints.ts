/**
 * Unknown front matter fields are kept (a ticket may carry notes of its own), so a misspelled
 * known field (`titel:`, `don: true`) would pass unnoticed: the ticket runs untitled, or not done.
 * These hints name the field it was probably meant to be.
 */

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
      (lower.length >= 3 && _distance(lower, field) <= 2) ||
      field.split("_").includes(lower)
    );
    if (match) warnings.push(`unknown field "${key}": did you mean ${match}?`);
  }
  return warnings;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function _distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
