import { InvalidArgumentError } from "@commander-js/extra-typings";

/** A commander argument parser for whole numbers ≥ `min`; the message names the bad value. */
export function integer(min = 0): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
      throw new InvalidArgumentError(`expected a whole number ≥ ${min}, got "${value}".`);
    }
    // Past 2^53 a number is no longer exact (99999999999999999999 would read as 1e20).
    if (!Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(
        `expected a whole number ≤ ${Number.MAX_SAFE_INTEGER}, got "${value}".`,
      );
    }
    return Number(value);
  };
}

/** A commander argument parser for seconds (decimals allowed), > 0. */
export function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(`expected a number of seconds ≥ 0, got "${value}".`);
  }
  return n;
}
