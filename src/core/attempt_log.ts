/**
 * What `cmcs logs` and the dashboard's logs API share about an attempt's `codex.jsonl`: the raw
 * lines of a tail and the JSON document that describes one.
 */
import type { AttemptRow, Outcome } from "./db/types.ts";

/** An attempt's log tail as `cmcs logs --json` prints it and `GET /api/runs/:id/logs` returns it. */
export interface AttemptLogJson {
  run_id: number;
  ticket: string;
  attempt: number;
  attempt_id: number;
  /** Null while the attempt is still running. */
  outcome: Outcome | null;
  log_file: string;
  lines: string[];
  /** True when older lines were left out. */
  truncated: boolean;
}

/** The JSON document for the tail `lines` of `attempt`'s log file `logFile`. */
export function attemptLogJson(
  attempt: AttemptRow,
  logFile: string,
  tail: { lines: string[]; truncated: boolean },
): AttemptLogJson {
  return {
    run_id: attempt.run_id,
    ticket: attempt.ticket,
    attempt: attempt.number,
    attempt_id: attempt.id,
    outcome: attempt.outcome,
    log_file: logFile,
    lines: tail.lines,
    truncated: tail.truncated,
  };
}

/** The JSONL lines of `text` as written (`--raw`, `raw=1`), blank ones left out. */
export function rawLogLines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}
