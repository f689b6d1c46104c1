import type { AttemptKind } from "../db/types.ts";
import { ticketHistory, uncommittedAttemptPaths } from "../review/ticket_history.ts";
import type { TreeLook } from "../git_changes.ts";
import type { Ticket } from "../tickets.ts";
import { type AttemptContext, type AttemptOutcome, runAttempt } from "./run_attempt.ts";

/** What every attempt at one ticket shares, and how the first one differs. */
export interface RetryPlan {
  ticket: Ticket;
  prompt: string;
  model: string | null;
  effort: string | null;
  /** `first` for a run, `resume` for `cmcs resume`; later attempts are `fallback` or `retry`. */
  firstKind: AttemptKind;
  /** The Codex thread every attempt continues (`cmcs resume`), or none. */
  resumeThreadId?: string | null;
  /**
   * The model for one retry after a context-window failure, or null. A resume has none: a
   * different model cannot continue the conversation.
   */
  fallbackModel: string | null;
  /** The first attempt's carried-over paths; later attempts ask the ticket's history again. */
  firstCarryOver: string[];
  /**
   * The look at the working tree the previous ticket's last attempt ended with (the run's ticket
   * loop passes it on). Each retry gets its predecessor's, except after a backoff: a look is never
   * carried across a wait.
   */
  firstLook?: Promise<TreeLook | null> | TreeLook | null;
}

/**
 * Runs a ticket's attempts until one needs no retry: the first attempt, then at most one retry
 * with the fallback model after a context-window failure, and up to `codex.max_retries` retries
 * with doubling backoff after transient errors. `usage_limit`, `auth`, timeouts and stops never
 * retry. The one retry loop of both `cmcs run` and `cmcs resume`: before every retry, and during
 * its backoff, it looks for a stop (also one only recorded in the database so far, which the
 * run's poll sees only every 250 ms), so no worker starts after a stop.
 */
export async function attemptWithRetries(
  ctx: AttemptContext,
  plan: RetryPlan,
): Promise<AttemptOutcome> {
  const codex = ctx.config.codex;
  let model = plan.model;
  const attempt = (
    kind: AttemptKind,
    carryOver: string[],
    look: Promise<TreeLook | null> | TreeLook | null,
  ) =>
    runAttempt(ctx, {
      look,
      ticket: plan.ticket,
      kind,
      model,
      effort: plan.effort,
      prompt: plan.prompt,
      resumeThreadId: plan.resumeThreadId,
      carryOver,
    });
  let result = await attempt(plan.firstKind, plan.firstCarryOver, plan.firstLook ?? null);
  let usedFallback = false;
  let retries = 0;
  while (true) {
    let kind: AttemptKind;
    let reason: string;
    let delayS = 0;
    if (
      result.outcome === "context_limit" && !usedFallback && plan.fallbackModel &&
      plan.fallbackModel !== model
    ) {
      usedFallback = true;
      model = plan.fallbackModel;
      kind = "fallback";
      reason = `context window exceeded; retrying with fallback model ${model}`;
    } else if (result.transient && retries < codex.max_retries) {
      retries++;
      kind = "retry";
      delayS = codex.retry_backoff_s * 2 ** (retries - 1);
      reason =
        `transient error (${result.message}); retry ${retries} of ${codex.max_retries} in ${delayS}s`;
    } else break;
    if (stopRequested(ctx)) break;
    ctx.journal.emit({
      kind: "retry",
      runId: ctx.runId,
      target: ctx.target,
      ticket: plan.ticket.id,
      file: plan.ticket.file,
      reason,
      delayS,
      model,
    });
    if (delayS > 0 && await ctx.stop.sleep(delayS * 1000)) break;
    if (stopRequested(ctx)) break;
    result = await attempt(kind, unfinishedWork(ctx, plan.ticket), delayS > 0 ? null : result.look);
  }
  return result;
}

/**
 * Files earlier attempts at this ticket changed and left uncommitted (a failed attempt, in this
 * run or an earlier one): they are the ticket's own work, so the commit of the attempt that
 * finishes it includes them. Nothing is carried over once the ticket's last attempt ended done.
 */
export function unfinishedWork(ctx: AttemptContext, ticket: Ticket): string[] {
  const history = ticketHistory(ctx.db, ctx.target, ticket.id);
  if (!history || history.attempts.at(-1)?.outcome === "done") return [];
  return uncommittedAttemptPaths(history);
}

/**
 * Looks at the database for a `cmcs stop` right before another attempt starts, so a stop that
 * lands between two attempts never lets one more worker start.
 */
function stopRequested(ctx: AttemptContext): boolean {
  ctx.checkStop?.();
  return ctx.stop.stopped;
}
