/**
 * Data the pages and the JSON API share: the running runs with what their workers are doing, a
 * target's tickets, each ticket of a run as its history judges it, and run lookup by the id in a
 * URL.
 */
import { loadConfig } from "../core/config.ts";
import { latestAttempt, runAttempts } from "../core/db/attempts.ts";
import { ticketHistory, type TicketWork, ticketWork } from "../core/review/ticket_history.ts";
import { ticketReviewRows } from "../core/db/reviews.ts";
import { attemptReviewState } from "../core/review/review_state.ts";
import { queryRunSummaries } from "../core/db/status_query.ts";
import { getRun } from "../core/db/runs.ts";
import type { AttemptRow, RunRow } from "../core/db/types.ts";
import {
  discoverTickets,
  isCodexTicket,
  resolveTicketsDir,
  type TicketJson,
  ticketJson,
} from "../core/tickets.ts";
import type { DashboardContext } from "./context.ts";
import { type TicketDiff, ticketDiff } from "./diff.ts";
import { HttpError, idParam } from "./params.ts";
import { isKnownTarget } from "./queries.ts";
import type { ActiveRunView } from "./views.ts";

/** The most running runs the overview shows (more than any machine runs at once). */
const MAX_ACTIVE = 100;

/** The run named by a URL's `:id`: 400 when it is not a number, 404 when there is no such run. */
export function runFromParam(ctx: DashboardContext, value: string): RunRow {
  const id = idParam(value);
  const run = id > 0 ? getRun(ctx.db, id) : undefined;
  if (!run) throw new HttpError(404, `no run with id ${value}`);
  return run;
}

/** Every running run, newest first, with its current model, ticket title and target progress. */
export async function activeRuns(ctx: DashboardContext): Promise<ActiveRunView[]> {
  const runs = queryRunSummaries(ctx.db, { active: true, limit: MAX_ACTIVE });
  let ticketsDir: string | null = null;
  try {
    ticketsDir = (await loadConfig(ctx.project)).config.tickets.dir;
  } catch {
    // A broken config only costs the progress numbers here.
  }
  return await Promise.all(runs.map(async (run) => {
    const attempt = latestAttempt(ctx.db, run.id);
    let progress: ActiveRunView["target_tickets"] = null;
    if (ticketsDir !== null) {
      try {
        const entries = await discoverTickets(resolveTicketsDir(run.target, ticketsDir));
        const codex = entries.filter((e) => !e.ok || isCodexTicket(e.ticket));
        progress = {
          done: codex.filter((e) => e.ok && e.ticket.done).length,
          total: codex.length,
        };
      } catch {
        progress = null;
      }
    }
    return {
      ...run,
      model: attempt?.model ?? null,
      ticket_title: attempt && attempt.ticket === run.current_ticket ? attempt.title : null,
      target_tickets: progress,
    };
  }));
}

export interface TargetTickets {
  target: string;
  tickets_dir: string | null;
  tickets: TicketJson[];
  /** Why the tickets could not be listed (a broken config, an unreadable directory). */
  error: string | null;
}

/**
 * The tickets of `target`, in run order. Only a target the project knows is read (its root, a
 * registered worktree, the target of a run): anything else is a 404.
 */
export async function targetTickets(ctx: DashboardContext, target: string): Promise<TargetTickets> {
  if (!isKnownTarget(ctx.db, ctx.project, target)) {
    throw new HttpError(404, `${target} is not a target of this project`);
  }
  try {
    const { config } = await loadConfig(ctx.project);
    const dir = resolveTicketsDir(target, config.tickets.dir);
    const entries = await discoverTickets(dir);
    return { target, tickets_dir: dir, tickets: entries.map(ticketJson), error: null };
  } catch (error) {
    return { target, tickets_dir: null, tickets: [], error: (error as Error).message };
  }
}

/** Tickets of one run whose changes are read from git (each costs a bounded `git diff` or two). */
export const MAX_RUN_DIFFS = 50;

/** A ticket of a run: its attempts in the run, and its whole piece of work as of the run. */
export interface RunTicket {
  ticket: string;
  /** The run's own attempts of the ticket, oldest first. */
  inRun: AttemptRow[];
  /**
   * The ticket's history up to the run's last attempt of it (earlier runs' attempts included), as
   * `cmcs result` judges it: files of every attempt, commits or working-tree change, tokens.
   */
  work: TicketWork;
  /** The diff `cmcs diff` shows; null when the span shows nothing or the run has too many tickets. */
  diff: TicketDiff | null;
}

/**
 * The tickets `attempts` (one run's) worked on, in the order they were first attempted. Past
 * {@link MAX_RUN_DIFFS} tickets, files come from the attempts' records and no diff is read.
 */
export async function runTickets(
  ctx: DashboardContext,
  run: RunRow,
  attempts: AttemptRow[] = runAttempts(ctx.db, run.id),
): Promise<RunTicket[]> {
  const groups = new Map<string, AttemptRow[]>();
  for (const attempt of attempts) {
    const group = groups.get(attempt.ticket);
    if (group) group.push(attempt);
    else groups.set(attempt.ticket, [attempt]);
  }
  const reviews = new Map(
    ticketReviewRows(ctx.db, { targets: [run.worktree], tickets: [...groups.keys()] })
      .map((row) => [row.ticket, row]),
  );
  return await Promise.all([...groups].map(async ([ticket, inRun], i) => {
    const history = ticketHistory(ctx.db, run.worktree, ticket, inRun.at(-1)!.id)!;
    const withGit = ctx.project.isGit && i < MAX_RUN_DIFFS;
    const work = await ticketWork({
      target: run.worktree,
      isGit: withGit,
      history,
      repoDir: ctx.project.root,
      review: attemptReviewState(reviews.get(ticket), inRun.at(-1)!.id),
    });
    const diff = withGit ? await ticketDiff(ctx.project, run.worktree, work.span) : null;
    return { ticket, inRun, work, diff };
  }));
}

/**
 * A ticket of a run as `GET /api/runs/:id` returns it: the fields of `cmcs result --json` that
 * describe the work (same names, same numbers), plus the ids of the attempts in this run.
 */
export function runTicketJson(t: RunTicket) {
  const w = t.work;
  return {
    ticket: t.ticket,
    title: w.title,
    outcome: w.outcome,
    attempt_ids: w.attempts.map((a) => a.id),
    attempt_ids_in_run: t.inRun.map((a) => a.id),
    duration_s: w.duration_s,
    tokens: w.tokens,
    commit_before: w.span.from,
    commit_after: w.span.to,
    uncommitted: w.span.overlay,
    files_changed: w.files,
    warnings: w.warnings,
    review: w.review,
  };
}
