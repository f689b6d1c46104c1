/** Row shapes of the database tables, as stored. JSON columns are decoded by the accessors. */

export type RunStatus = "running" | "completed" | "failed" | "stopped" | "interrupted";

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = [
  "completed",
  "failed",
  "stopped",
  "interrupted",
];

/**
 * How one attempt at a ticket ended. `done` is the only success; see docs/json-output.md for the
 * meaning of each.
 */
export type Outcome =
  | "done"
  | "not_marked_done"
  | "worker_failed"
  | "context_limit"
  | "usage_limit"
  | "auth"
  | "timeout_total"
  | "timeout_idle"
  | "stopped"
  | "spawn_error"
  | "ticket_error"
  | "commit_failed";

export const OUTCOMES: readonly Outcome[] = [
  "done",
  "not_marked_done",
  "worker_failed",
  "context_limit",
  "usage_limit",
  "auth",
  "timeout_total",
  "timeout_idle",
  "stopped",
  "spawn_error",
  "ticket_error",
  "commit_failed",
];

/** Why an attempt was made: the first try, a fallback-model retry, a transient-error retry, a resume. */
export type AttemptKind = "first" | "fallback" | "retry" | "resume";

export interface WorktreeRow {
  path: string;
  branch: string;
  created_at: string;
  status: "active" | "archived";
  base_ref: string | null;
  port: number | null;
  archived_at: string | null;
}

export interface RunRow {
  id: number;
  worktree: string;
  started_at: string;
  finished_at: string | null;
  status: RunStatus;
  worker_pid: number | null;
  broker_pid: number | null;
  broker_start: string | null;
  current_ticket: string | null;
  message: string | null;
  stop_requested_at: string | null;
  options: string | null;
}

export interface TokenUsage {
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  reasoning_output_tokens: number;
}

export interface FileChange {
  path: string;
  added: number | null;
  removed: number | null;
}

export interface AttemptRow {
  id: number;
  run_id: number;
  ticket: string;
  title: string | null;
  number: number;
  kind: AttemptKind;
  model: string | null;
  reasoning_effort: string | null;
  started_at: string;
  finished_at: string | null;
  duration_s: number | null;
  outcome: Outcome | null;
  message: string | null;
  exit_code: number | null;
  signal: string | null;
  worker_pid: number | null;
  worker_start: string | null;
  process_token: string | null;
  thread_id: string | null;
  input_tokens: number | null;
  cached_input_tokens: number | null;
  output_tokens: number | null;
  reasoning_output_tokens: number | null;
  commit_before: string | null;
  commit_after: string | null;
  /** JSON array of {@link FileChange}. */
  files_changed: string | null;
  final_message: string | null;
  /** JSON array of strings. */
  warnings: string | null;
  /** Directory of this attempt's files, relative to the project's `.cmcs/logs/`. */
  log_dir: string | null;
  resets_at: string | null;
  /** The ticket file the attempt worked on (absolute), for recovery to re-open or commit it. */
  ticket_path?: string | null;
  /**
   * JSON object path → content hash of what was uncommitted before the attempt (see
   * `DirtySnapshot`), so recovery can tell the attempt's edits from older ones.
   */
  dirty_before?: string | null;
  /**
   * JSON {@link CommitIntent} while the attempt's auto-commit is under way: set together with the
   * `done` outcome, cleared when the commit (or its failure) is recorded. Left set by a broker
   * that died meanwhile, it tells recovery which commit to look for or to make.
   */
  commit_pending?: string | null;
}

/** What an attempt is about to commit: exactly these paths, with this message. */
export interface CommitIntent {
  paths: string[];
  /** The message's paragraphs; the last one is the `Cmcs-Attempt:` trailer. */
  message: string[];
}

/**
 * Event names. `started`/`completed`/`failed`/`warning` keep the earlier tool's meaning
 * (an attempt began / ended done / ended otherwise / a non-fatal problem); the rest are new.
 */
export type EventName =
  | "run_started"
  | "run_finished"
  | "started"
  | "completed"
  | "failed"
  | "warning"
  | "skipped"
  | "retry"
  | "stop_requested"
  | "committed"
  | "hook"
  | "accepted"
  | "sent_back";

export interface EventRow {
  id: number;
  run_id: number;
  ticket: string;
  model: string | null;
  event: EventName;
  exit_code: number | null;
  duration_s: number | null;
  timestamp: string;
  attempt_id: number | null;
  outcome: string | null;
  message: string | null;
}
