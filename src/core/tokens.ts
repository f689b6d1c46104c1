/**
 * Token counts, added up in one place: a run's totals (`cmcs status`, `wait`, the dashboard, the
 * run line of `cmcs result`) and a ticket's totals (`cmcs result`, the dashboard's ticket
 * sections) come from {@link sumTokens} over attempt rows, so they cannot disagree.
 */
import type { AttemptRow } from "./db/types.ts";

/** Token counts as `result --json` and `status --json` show them. */
export interface TokenTotals {
  input: number;
  cached_input: number;
  output: number;
  reasoning: number;
  /** input + output (cached input is part of input, reasoning part of output). */
  total: number;
}

/** The usage columns of an attempt row; all null when the worker reported no usage. */
export type TokenColumns = Pick<
  AttemptRow,
  "input_tokens" | "cached_input_tokens" | "output_tokens" | "reasoning_output_tokens"
>;

/**
 * An attempt's usage, or null when it recorded none (a failed or killed turn): "no usage" is
 * not "zero tokens", so a packet can tell them apart.
 */
export function attemptTokens(a: TokenColumns): TokenTotals | null {
  if (
    a.input_tokens === null && a.output_tokens === null && a.cached_input_tokens === null &&
    a.reasoning_output_tokens === null
  ) return null;
  return sumTokens([a]);
}

/** The usage of `attempts` added up; attempts without usage count as zero. */
export function sumTokens(attempts: TokenColumns[]): TokenTotals {
  const sum: TokenTotals = { input: 0, cached_input: 0, output: 0, reasoning: 0, total: 0 };
  for (const a of attempts) {
    sum.input += Number(a.input_tokens ?? 0);
    sum.cached_input += Number(a.cached_input_tokens ?? 0);
    sum.output += Number(a.output_tokens ?? 0);
    sum.reasoning += Number(a.reasoning_output_tokens ?? 0);
  }
  sum.total = sum.input + sum.output;
  return sum;
}
