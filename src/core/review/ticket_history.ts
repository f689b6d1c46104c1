/**
 * One model of a ticket's history on a target: which attempts make up its current piece of work,
 * their outcome, what they changed across all of them (commits, and what they left uncommitted),
 * what they cost. `cmcs result`, `cmcs diff`, `cmcs resume`, the runner's carry-over and the
 * dashboard's run page read it, so they cannot tell different stories about the same ticket.
 */
import { UserError } from "../errors.ts";
import type { ReviewState } from "./review_state.ts";
import { targetTicketAttempts, ticketsRunOn } from "../db/attempts.ts";
import type { Database } from "../db/database.ts";
import type { AttemptRow, FileChange, Outcome } from "../db/types.ts";
import { findTicketRef } from "../ticket_ref.ts";
import { secondsBetween } from "../time.ts";
import { sumTokens, type TokenTotals } from "../tokens.ts";
import { isDirectory } from "../project.ts";
import {
  commitSpan,
  isEmptySpec,
  type TicketDiffSpec,
  ticketDiffSpec,
  ticketNumstat,
} from "./ticket_diff.ts";

/** One ticket's attempts on one target, oldest first, as review commands see them. */
export interface TicketHistory {
  ticket: string;
  /**
   * The attempts that make up the ticket's current piece of work: from the latest attempt back to
   * the start of the work (see {@link ticketHistory}). Never empty.
   */
  attempts: AttemptRow[];
  /** Every attempt of the ticket on the target, across runs, oldest first. */
  all: AttemptRow[];
}

/**
 * The ticket a review command acts on: the one `ref` names (`TICKET-002`, `2`, `ticket-2.md`)
 * among the tickets that ever ran on `target`, or, without `ref`, the ticket of the target's
 * newest attempt. A clear error when nothing ran there, when `ref` matches no ticket that ran, or
 * when it names several (src/core/ticket_ref.ts).
 */
export function resolveReviewTicket(
  db: Database,
  target: string,
  label: string,
  ref: string | undefined,
): string {
  const ids = ticketsRunOn(db, target);
  if (ids.length === 0) {
    throw new UserError(`no ticket has run on ${label} yet`, {
      hint: `start one with \`cmcs run ${label}\``,
    });
  }
  if (ref === undefined) return ids[0];
  const id = findTicketRef(ids, ref);
  if (!id) {
    const shown = ids.slice(0, 10).join(", ") + (ids.length > 10 ? ", …" : "");
    throw new UserError(`no ticket "${ref}" has run on ${label}`, {
      hint: `tickets that ran there, newest first: ${shown}`,
    });
  }
  return id;
}

/**
 * The attempts of a ticket's current piece of work on a target. Attempts are collected across
 * runs (a re-run after a failure, a `cmcs resume` in a run of its own) back to the most recent
 * `first` attempt that followed a `done` one: a ticket that was done and then ran afresh (reopened
 * by hand, or a ticket id reused for new work) starts a new piece of work, while a `resume` after
 * `done` continues the old one. With `upTo` (an attempt id of the ticket), the piece of work as it
 * stood after that attempt: what a page about an older run shows. Null when the ticket never ran
 * on the target (or `upTo` is not one of its attempts).
 */
export function ticketHistory(
  db: Database,
  target: string,
  ticket: string,
  upTo?: number,
): TicketHistory | null {
  const all = targetTicketAttempts(db, target, ticket);
  const end = upTo === undefined ? all.length : all.findIndex((a) => a.id === upTo) + 1;
  if (end === 0) return null;
  let start = 0;
  for (let i = end - 1; i > 0; i--) {
    if (all[i].kind === "first" && all[i - 1].outcome === "done") {
      start = i;
      break;
    }
  }
  return { ticket, attempts: all.slice(start, end), all };
}

/**
 * True when the history ends with the ticket's newest attempt: only then is what its attempts left
 * uncommitted still theirs in the working tree (later attempts may have committed or redone it).
 */
export function isCurrentHistory(history: TicketHistory): boolean {
  return history.attempts.at(-1)?.id === history.all.at(-1)?.id;
}

/** A ticket's piece of work, judged once (see {@link ticketWork}). */
export interface TicketWork {
  ticket: string;
  /** The latest title an attempt recorded. */
  title: string | null;
  /** The attempts of the piece of work, oldest first (never empty). */
  attempts: AttemptRow[];
  /** The latest attempt's outcome; null while it runs. */
  outcome: Outcome | null;
  /** Sum over the attempts; a running attempt counts up to now. */
  duration_s: number;
  /** Every attempt's usage added up (the same function adds up a run's). */
  tokens: TokenTotals;
  /**
   * What the ticket changed in git terms: commit before its first attempt … last commit of an
   * attempt, plus what its attempts left uncommitted in the working tree. Outside git: the first
   * attempt's commit, no later commit, no overlay.
   */
  span: TicketDiffSpec;
  /**
   * Files changed across all the attempts: from git over {@link span} (so `cmcs diff` shows the
   * same), or, when git cannot tell (not a repository, commits or worktree gone), the attempts'
   * own records merged, a later record of a path replacing an earlier one.
   */
  files: FileChange[];
  /** True when {@link files} came from git; false when from the attempts' records. */
  files_from_git: boolean;
  /** Each distinct warning of the attempts, in order. */
  warnings: string[];
  /**
   * Whether the orchestrator accepted the work. Always null for now: `cmcs accept` (being added)
   * records it, and this is where it will be read.
   */
  /** Where the work stands in the review queue, as the caller read it; null when unknown. */
  review: ReviewState | null;
}

/**
 * Judges a ticket's history: outcome, cost, and what changed across all its attempts — committed
 * or not. Git runs in `target`; when that directory is gone (a removed worktree) and `repoDir` (a
 * checkout of the same repository) is given, the commits are read there and nothing is overlaid.
 * `isGit` false skips git entirely.
 */
export async function ticketWork(input: {
  target: string;
  isGit: boolean;
  history: TicketHistory;
  repoDir?: string;
  review?: ReviewState | null;
}): Promise<TicketWork> {
  const { history } = input;
  const attempts = history.attempts;
  const last = attempts[attempts.length - 1];
  let span: TicketDiffSpec = { from: attempts[0].commit_before, to: null, overlay: [] };
  let files: FileChange[] | null = null;
  const gitDir = !input.isGit
    ? null
    : isDirectory(input.target)
    ? input.target
    : input.repoDir ?? null;
  if (gitDir !== null) {
    span = gitDir === input.target ? await ticketDiffSpec(gitDir, history) : commitSpan(history);
    files = isEmptySpec(span) ? [] : await ticketNumstat(gitDir, span);
  }
  return {
    ticket: history.ticket,
    title: last.title ?? attempts.findLast((a) => a.title)?.title ?? null,
    attempts,
    outcome: last.outcome,
    duration_s: Math.round(
      attempts.reduce((sum, a) => sum + (a.duration_s ?? secondsBetween(a.started_at, null)), 0) *
        1000,
    ) / 1000,
    tokens: sumTokens(attempts),
    span,
    files: files ?? mergeRecordedFiles(attempts),
    files_from_git: files !== null,
    warnings: [...new Set(attempts.flatMap((a) => parseWarnings(a.warnings)))],
    review: input.review ?? null,
  };
}

/** The attempts' recorded files, later records of a path replacing earlier ones, in path order. */
function mergeRecordedFiles(attempts: AttemptRow[]): FileChange[] {
  const byPath = new Map<string, FileChange>();
  for (const a of attempts) {
    for (const change of parseFiles(a.files_changed)) byPath.set(change.path, change);
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The newest attempt of the history that recorded a Codex thread id, if any. */
export function latestThreadAttempt(history: TicketHistory): AttemptRow | null {
  for (let i = history.attempts.length - 1; i >= 0; i--) {
    if (history.attempts[i].thread_id) return history.attempts[i];
  }
  return null;
}

/**
 * Paths that the attempts since the ticket's last commit changed without committing them
 * (auto-commit off, or attempts that did not end done): the ticket's own pending work, even though
 * it is in no commit. Attempts before a commit count no more: their work went into it, and a later
 * edit of the same files is someone else's.
 */
export function uncommittedAttemptPaths(history: TicketHistory): string[] {
  const paths = new Set<string>();
  for (let i = history.attempts.length - 1; i >= 0; i--) {
    const attempt = history.attempts[i];
    if (attempt.commit_after) break;
    for (const change of parseFiles(attempt.files_changed)) paths.add(change.path);
  }
  return [...paths];
}

/** The `files_changed` JSON of an attempt, decoded; an unreadable value gives no files. */
export function parseFiles(
  json: string | null,
): { path: string; added: number | null; removed: number | null }[] {
  if (!json) return [];
  try {
    const value = JSON.parse(json);
    return Array.isArray(value) ? value.filter((c) => typeof c?.path === "string") : [];
  } catch {
    return [];
  }
}

/** The `warnings` JSON of an attempt, decoded. */
export function parseWarnings(json: string | null): string[] {
  if (!json) return [];
  try {
    const value = JSON.parse(json);
    return Array.isArray(value) ? value.map(String) : [];
  } catch {
    return [];
  }
}
