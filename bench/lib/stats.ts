/** Small statistics and timing helpers for the benchmarks (no timing is ever asserted). */

/** The median of `values` (mean of the middle two for an even count); NaN when empty. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The `p`-th percentile (0–100, nearest rank) of `values`; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Rounds to `digits` decimals, keeping numbers small in the JSON. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Milliseconds `fn` takes. */
export async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Times each of `cases` `reps` times, round-robin (one of each per round, so a change of machine
 * load during the benchmark hits every case alike), after one untimed warm-up round. Returns the
 * samples of each case, in ms.
 */
export async function roundRobin(
  cases: Record<string, () => Promise<unknown>>,
  reps: number,
  onRound?: (round: number) => void,
): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = {};
  for (const [name, fn] of Object.entries(cases)) {
    await fn();
    samples[name] = [];
  }
  for (let i = 0; i < reps; i++) {
    for (const [name, fn] of Object.entries(cases)) samples[name].push(await timed(fn));
    onRound?.(i + 1);
  }
  return samples;
}

/** Progress on stderr, so stdout keeps only the results. */
export function progress(message: string): void {
  console.error(`bench: ${message}`);
}
