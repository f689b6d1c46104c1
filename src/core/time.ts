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

/** The longest delay `setTimeout` honours: 2^31 - 1 ms, about 24.8 days. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `ms` made safe for `setTimeout`, which fires **at once** for anything above about 24.8 days (a
 * `timeout_s: 3000000` would end every attempt after 1 ms). Longer delays wait that long, which
 * is as good as forever for a run.
 */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}
