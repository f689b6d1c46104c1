import { shellWord } from "../command_words.ts";
import { join } from "../path.ts";
import type { Database } from "../db/database.ts";
import { getRun } from "../db/runs.ts";
import { queryRunSummaries } from "../db/status_query.ts";
import type { AttemptRow, FileChange, Outcome, RunStatus } from "../db/types.ts";
import { ATTEMPT_FILES } from "../runner/execute_worker.ts";
import { attemptTokens, sumTokens, type TokenTotals } from "../tokens.ts";
import { ticketReviewRows } from "../db/reviews.ts";
import { type ReviewState, reviewState } from "./review_state.ts";
import {
  latestThreadAttempt,
  parseFiles,
  parseWarnings,
  type TicketHistory,
  ticketWork,
} from "./ticket_history.ts";

export type { TokenTotals };

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
 * Builds the review packet of a ticket's history, as {@link ticketWork} judges it (the dashboard
 * shows the same). `pathArg` is how commands in the packet name the target.
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
  const [reviewRow] = ticketReviewRows(db, { targets: [target], tickets: [history.ticket] });
  const work = await ticketWork({
    target,
    isGit: input.isGit,
    history,
    review: reviewRow ? reviewState(reviewRow) : null,
  });
  const review = work.review;
  const attempts = work.attempts;
  const last = attempts[attempts.length - 1];
  const runRow = getRun(db, last.run_id);
  const files = work.files;
  const finalAttempt = attempts.findLast((a) => a.final_message) ?? null;
  const threadAttempt = latestThreadAttempt(history);
  const ticketArg = shellWord(history.ticket);
  const path = shellWord(pathArg);

  return {
    target,
    ticket: history.ticket,
    title: work.title,
    review,
    accepted_at: review === "accepted" ? reviewRow.decided_at : null,
    run: {
      id: last.run_id,
      status: runRow?.status ?? null,
      tokens: runTokens(db, last.run_id),
    },
    outcome: work.outcome,
    message: last.message,
    resets_at: last.resets_at,
    model: last.model,
    reasoning_effort: last.reasoning_effort,
    thread_id: threadAttempt?.thread_id ?? null,
    duration_s: work.duration_s,
    tokens: work.tokens,
    attempts: attempts.map((a) => packetAttempt(a, input.logsDir)),
    commit_before: work.span.from,
    commit_after: work.span.to,
    uncommitted: work.span.overlay,
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
    warnings: work.warnings,
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

/** Token sums of every attempt of a run: exactly the numbers `cmcs status` shows for it. */
export function runTokens(db: Database, runId: number): TokenTotals {
  return queryRunSummaries(db, { id: runId, limit: 1 })[0]?.tokens ?? sumTokens([]);
}
