import { relative } from "../path.ts";
import type { FileChange, Outcome, RunStatus } from "../db/types.ts";
import type { ResultPacket, TokenTotals } from "./result_packet.ts";
import type { ReviewState } from "./review_state.ts";

/** One attempt in `result --json`; a field that would be null is left out. */
export interface ResultJsonAttempt {
  id: number;
  run_id: number;
  kind: string;
  model?: string;
  reasoning_effort?: string;
  outcome?: Outcome;
  message?: string;
  resets_at?: string;
  /** Left out when 0 (or when the worker never exited by itself). */
  exit_code?: number;
  duration_s?: number;
  /** input + output tokens; the ticket's breakdown is the packet's `tokens`. */
  tokens?: number;
  thread_id?: string;
  /** Relative to `.cmcs/logs/`: `<run id>/<ticket>.<attempt number in the run>`. */
  log_dir?: string;
}

/**
 * `cmcs result --json`: the review packet with each fact stated once, for an agent that pays for
 * every character. What belongs to an attempt (model, effort, thread, log folder, tokens) is only
 * in `attempts`; what belongs to the ticket (files, commits, final message, the token breakdown)
 * only at the top, where `outcome`, `message` and `resets_at` are the latest attempt's: the
 * ticket's state (so the last of `attempts` leaves its message and reset time to the top). Null values and empty lists are left out, except `outcome` (null while the
 * latest attempt runs) and `review` (null when the ticket is neither done nor sent back).
 */
export interface ResultJson {
  target: string;
  ticket: string;
  title?: string;
  /** The latest attempt's outcome: the ticket's state. */
  outcome: Outcome | null;
  /** The latest attempt's message (why it failed), when it has one. */
  message?: string;
  /** When the latest attempt's `usage_limit` lifts, if Codex said so. */
  resets_at?: string;
  review: ReviewState | null;
  accepted_at?: string;
  run: { id: number; status: RunStatus | null };
  duration_s: number;
  /** Summed over the attempts; the total is input + output. */
  tokens: Omit<TokenTotals, "total">;
  attempts: ResultJsonAttempt[];
  /** The span `cmcs diff` shows, as 12-digit abbreviations (`from` is null at the root commit). */
  commits?: { from: string | null; to: string };
  uncommitted?: string[];
  /** `[path, lines added, lines removed]`; the counts are null for a binary file. */
  files?: [string, number | null, number | null][];
  final_message?: string;
  warnings?: string[];
  commands: { diff: string; logs: string; resume?: string; accept?: string };
}

export function resultJson(p: ResultPacket, logsDir: string): ResultJson {
  return prune({
    target: p.target,
    ticket: p.ticket,
    title: p.title,
    outcome: p.outcome,
    message: p.message,
    resets_at: p.resets_at,
    review: p.review,
    accepted_at: p.accepted_at,
    run: p.run.status === null ? { id: p.run.id } : { id: p.run.id, status: p.run.status },
    duration_s: p.duration_s,
    tokens: {
      input: p.tokens.input,
      cached_input: p.tokens.cached_input,
      output: p.tokens.output,
      reasoning: p.tokens.reasoning,
    },
    attempts: p.attempts.map((a, i) =>
      prune({
        id: a.attempt_id,
        run_id: a.run_id,
        kind: a.kind,
        model: a.model,
        reasoning_effort: a.reasoning_effort,
        outcome: a.outcome,
        // The latest attempt's are the packet's own, stated once at the top.
        message: i === p.attempts.length - 1 ? null : a.message,
        resets_at: i === p.attempts.length - 1 ? null : a.resets_at,
        exit_code: a.exit_code === 0 ? null : a.exit_code,
        duration_s: a.duration_s,
        tokens: a.tokens?.total,
        thread_id: a.thread_id,
        log_dir: a.log_dir ? relative(logsDir, a.log_dir) : null,
      }, [])
    ),
    commits: p.commit_after
      ? { from: abbreviate(p.commit_before), to: abbreviate(p.commit_after) }
      : null,
    uncommitted: p.uncommitted,
    files: p.files_changed.map((f: FileChange) => [f.path, f.added, f.removed]),
    final_message: p.final_message,
    warnings: p.warnings,
    commands: prune(p.commands, []),
  }, ["outcome", "review"]) as unknown as ResultJson;
}

function abbreviate(commit: string | null): string | null {
  return commit === null ? null : commit.slice(0, 12);
}

/** `value` without its null, undefined and empty-list fields, except those in `keep`. */
function prune<T extends object>(value: T, keep: string[]): T {
  return Object.fromEntries(
    Object.entries(value).filter(([key, v]) =>
      keep.includes(key) || !(v === null || v === undefined || (Array.isArray(v) && v.length === 0))
    ),
  ) as T;
}
