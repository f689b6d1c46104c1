import { InvalidArgumentError } from "@commander-js/extra-typings";

/** A commander argument parser for whole numbers ≥ `min`; the message names the bad value. */
export function integer(min = 0): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
      throw new InvalidArgumentError(`expected a whole number ≥ ${min}, got "${value}".`);
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
