/**
 * Timestamps are stored as ISO-8601 UTC strings with milliseconds and a `Z`
 * (`2026-11-24T00:41:32.123Z`): unambiguous, and ordered correctly as plain strings.
 */
export function nowIso(): string {
  return new Date().toISOString();
}

/** Seconds between two stored timestamps (or until now when `end` is null). */
export function secondsBetween(start: string, end: string | null | undefined): number {
  const to = end ? Date.parse(end) : Date.now();
  return Math.max(0, (to - Date.parse(start)) / 1000);
}
