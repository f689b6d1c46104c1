/**
 * Value parsers for command-line options. They throw {@link InvalidArgument}, which commander
 * reports like its own `InvalidArgumentError` (it looks only at the error's `code`), so this module
 * does not import commander: the fast path (src/commands/fast_path.ts) uses the same parsers without
 * loading it.
 */
export class InvalidArgument extends Error {
  readonly code = "commander.invalidArgument";
  readonly exitCode = 1;
}

/** An argument parser for whole numbers ≥ `min`; the message names the bad value. */
export function integer(min = 0): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
      throw new InvalidArgument(`expected a whole number ≥ ${min}, got "${value}".`);
    }
    // Past 2^53 a number is no longer exact (99999999999999999999 would read as 1e20).
    if (!Number.isSafeInteger(Number(value))) {
      throw new InvalidArgument(
        `expected a whole number ≤ ${Number.MAX_SAFE_INTEGER}, got "${value}".`,
      );
    }
    return Number(value);
  };
}

/** An argument parser for seconds (decimals allowed), ≥ 0. */
export function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgument(`expected a number of seconds ≥ 0, got "${value}".`);
  }
  return n;
}
