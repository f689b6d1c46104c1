import { join } from "node:path";
import type { Database } from "../db/database.ts";
import { getRun } from "../db/runs.ts";
import type { AttemptRow, FileChange, Outcome, RunStatus } from "../db/types.ts";
import { ATTEMPT_FILES } from "../runner/execute_worker.ts";
import { ticketReviewRows } from "../db/reviews.ts";
import { secondsBetween } from "../time.ts";
import { type ReviewState, reviewState } from "./review_state.ts";
import { isEmptySpec, ticketDiffSpec, ticketNumstat } from "./ticket_diff.ts";
import {
  latestThreadAttempt,
  parseFiles,
  parseWarnings,
  type TicketHistory,
} from "./ticket_history.ts";

/** Token counts as `result --json` and `status --json` show them. */
export interface TokenTotals {
  input: number;
  cached_input: number;
  output: number;
  reasoning: number;
  /** input + output (cached input is part of input, reasoning part of output). */
  total: number;
}

export interface PacketAttempt {
  attempt_id: number;
  run_id: number;
  /** The attempt's number within its run (its log folder is `<run_id>/<ticket>.<number>`). */
  number: number;
  kind: string;
  model: string | null;
  reasoning_effort: string | null;
  /** Null while the attempt is still running. */
  outcome: Outcome | null;
  message: string | null;
  started_at: string;
  finished_at: string | null;
  duration_s: number | null;
  exit_code: number | null;
  /** When a `usage_limit` lifts, if Codex said so (ISO time). */
  resets_at: string | null;
  thread_id: string | null;
  commit_before: string | null;
  commit_after: string | null;
  /** Null when the worker reported no usage (a failed or killed turn). */
  tokens: TokenTotals | null;
  files_changed: FileChange[];
  warnings: string[];
  log_dir: string | null;
}

/** Everything an orchestrator needs to judge one ticket's work (`cmcs result --json`). */
export interface ResultPacket {
  target: string;
  ticket: string;
  title: string | null;
  /** Where the ticket stands in the review queue (see {@link ReviewState}). */
  review: ReviewState | null;
  /** When the latest attempt's work was accepted, if it was. */
  accepted_at: string | null;
  /** The run of the latest attempt. */
  run: { id: number; status: RunStatus | null; tokens: TokenTotals };
  /** The latest attempt's outcome; null while it runs. */
  outcome: Outcome | null;
  message: string | null;
  /** When the latest attempt's `usage_limit` lifts, if Codex said so (ISO time). */
  resets_at: string | null;
  model: string | null;
  reasoning_effort: string | null;
  thread_id: string | null;
  /** Sum over the attempts. */
  duration_s: number;
  /** Sum over the attempts. */
  tokens: TokenTotals;
  attempts: PacketAttempt[];
  /** The span `cmcs diff` shows: commit before the first attempt … last commit of an attempt. */
  commit_before: string | null;
  commit_after: string | null;
  /** Paths the ticket changed that are not committed (shown from the working tree). */
  uncommitted: string[];
  files_changed: FileChange[];
  files_summary: { files: number; added: number; removed: number };
  final_message: string | null;
  final_message_file: string | null;
  warnings: string[];
  commands: { diff: string; logs: string; resume: string | null; accept: string | null };
}

/**
 * Builds the review packet of a ticket's history. Files come from git over the same span
 * `cmcs diff` shows (so they agree), or from the attempts' own records when git cannot tell (not a
 * repository, commits gone). `pathArg` is how commands in the packet name the target.
 */
export async function buildResultPacket(input: {
  db: Database;
  target: string;
  isGit: boolean;
  logsDir: string;
  history: TicketHistory;
  pathArg: string;
}): Promise<ResultPacket> {
  const { db, target, history, pathArg } = input;
  const attempts = history.attempts;
  const last = attempts[attempts.length - 1];
  const runRow = getRun(db, last.run_id);

  let files: FileChange[] | null = null;
  let spec = {
    from: attempts[0].commit_before,
    to: null as string | null,
    overlay: [] as string[],
  };
  if (input.isGit) {
    spec = await ticketDiffSpec(target, history);
    files = isEmptySpec(spec) ? [] : await ticketNumstat(target, spec);
  }
  files ??= mergeRecordedFiles(attempts);

  const warnings = [...new Set(attempts.flatMap((a) => parseWarnings(a.warnings)))];
  const finalAttempt = attempts.findLast((a) => a.final_message) ?? null;
  const threadAttempt = latestThreadAttempt(history);
  const packetAttempts = attempts.map((a) => packetAttempt(a, input.logsDir));
  const ticketArg = shellWord(history.ticket);
  const path = shellWord(pathArg);
  const [reviewRow] = ticketReviewRows(db, { target, tickets: [history.ticket] });
  const review = reviewRow ? reviewState(reviewRow) : null;

  return {
    target,
    ticket: history.ticket,
    title: last.title ?? attempts.findLast((a) => a.title)?.title ?? null,
    review,
    accepted_at: review === "accepted" ? reviewRow.decided_at : null,
    run: {
      id: last.run_id,
      status: runRow?.status ?? null,
      tokens: runTokens(db, last.run_id),
    },
    outcome: last.outcome,
    message: last.message,
    resets_at: last.resets_at,
    model: last.model,
    reasoning_effort: last.reasoning_effort,
    thread_id: threadAttempt?.thread_id ?? null,
    duration_s: round(
      attempts.reduce((sum, a) => sum + (a.duration_s ?? secondsBetween(a.started_at, null)), 0),
    ),
    tokens: sumTokens(packetAttempts.map((a) => a.tokens)),
    attempts: packetAttempts,
    commit_before: spec.from,
    commit_after: spec.to,
    uncommitted: spec.overlay,
    files_changed: files,
    files_summary: {
      files: files.length,
      added: files.reduce((sum, f) => sum + (f.added ?? 0), 0),
      removed: files.reduce((sum, f) => sum + (f.removed ?? 0), 0),
    },
    final_message: finalAttempt?.final_message ?? null,
    final_message_file: finalAttempt?.log_dir
      ? join(input.logsDir, finalAttempt.log_dir, ATTEMPT_FILES.lastMessage)
      : null,
    warnings,
    commands: {
      diff: `cmcs diff ${path} ${ticketArg}`,
      logs: `cmcs logs ${path} --ticket ${ticketArg} --run ${last.run_id}`,
      resume: threadAttempt ? `cmcs resume ${path} ${ticketArg} -m "<feedback>"` : null,
      accept: review === "awaiting_review" ? `cmcs accept ${path} ${ticketArg}` : null,
    },
  };
}

function packetAttempt(a: AttemptRow, logsDir: string): PacketAttempt {
  return {
    attempt_id: a.id,
    run_id: a.run_id,
    number: a.number,
    kind: a.kind,
    model: a.model,
    reasoning_effort: a.reasoning_effort,
    outcome: a.outcome,
    message: a.message,
    started_at: a.started_at,
    finished_at: a.finished_at,
    duration_s: a.duration_s,
    exit_code: a.exit_code,
    resets_at: a.resets_at,
    thread_id: a.thread_id,
    commit_before: a.commit_before,
    commit_after: a.commit_after,
    tokens: attemptTokens(a),
    files_changed: parseFiles(a.files_changed),
    warnings: parseWarnings(a.warnings),
    log_dir: a.log_dir ? join(logsDir, a.log_dir) : null,
  };
}

/** An attempt's usage, or null when it recorded none. */
export function attemptTokens(a: AttemptRow): TokenTotals | null {
  if (
    a.input_tokens === null && a.output_tokens === null && a.cached_input_tokens === null &&
    a.reasoning_output_tokens === null
  ) return null;
  const input = a.input_tokens ?? 0;
  const output = a.output_tokens ?? 0;
  return {
    input,
    cached_input: a.cached_input_tokens ?? 0,
    output,
    reasoning: a.reasoning_output_tokens ?? 0,
    total: input + output,
  };
}

function sumTokens(list: (TokenTotals | null)[]): TokenTotals {
  const total: TokenTotals = { input: 0, cached_input: 0, output: 0, reasoning: 0, total: 0 };
  for (const t of list) {
    if (!t) continue;
    total.input += t.input;
    total.cached_input += t.cached_input;
    total.output += t.output;
    total.reasoning += t.reasoning;
    total.total += t.total;
  }
  return total;
}

/** Token sums of every attempt of a run (the same numbers `cmcs status` shows for it). */
export function runTokens(db: Database, runId: number): TokenTotals {
  const row = db.get<{ input: number; cached: number; output: number; reasoning: number }>(
    `SELECT COALESCE(SUM(input_tokens), 0) AS input, COALESCE(SUM(cached_input_tokens), 0) AS cached,
       COALESCE(SUM(output_tokens), 0) AS output, COALESCE(SUM(reasoning_output_tokens), 0) AS reasoning
     FROM attempts WHERE run_id = ?`,
    runId,
  );
  const input = Number(row?.input ?? 0);
  const output = Number(row?.output ?? 0);
  return {
    input,
    cached_input: Number(row?.cached ?? 0),
    output,
    reasoning: Number(row?.reasoning ?? 0),
    total: input + output,
  };
}

/** The attempts' recorded files, later records of a path replacing earlier ones. */
function mergeRecordedFiles(attempts: AttemptRow[]): FileChange[] {
  const byPath = new Map<string, FileChange>();
  for (const a of attempts) {
    for (const change of parseFiles(a.files_changed)) byPath.set(change.path, change);
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** `word` as one shell word: unchanged when it is plain, single-quoted otherwise. */
export function shellWord(word: string): string {
  if (/^[A-Za-z0-9_./@%+=:,-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
