import { recordEvent } from "../db/events.ts";
import { ticketHistory, uncommittedAttemptPaths } from "../review/ticket_history.ts";
import type { Ticket } from "../tickets.ts";
import { type AttemptContext, type AttemptOutcome, runAttempt } from "./run_attempt.ts";

/**
 * Runs a ticket until it is done or cannot be: the first attempt, then at most one retry with
 * `codex.fallback_model` after a context-window failure, and up to `codex.max_retries` retries with
 * doubling backoff after transient errors. `usage_limit`, `auth`, timeouts and stops never retry.
 */
export async function runTicket(
  ctx: AttemptContext,
  input: { ticket: Ticket; prompt: string },
): Promise<AttemptOutcome> {
  const { ticket, prompt } = input;
  const codex = ctx.config.codex;
  const effort = ticket.reasoning_effort ?? codex.reasoning_effort;
  let model = ticket.model ?? codex.model;
  let result = await runAttempt(ctx, {
    ticket,
    kind: "first",
    model,
    effort,
    prompt,
    carryOver: unfinishedWork(ctx, ticket),
  });
  let usedFallback = false;
  let retries = 0;
  while (!ctx.stop.stopped) {
    if (
      result.outcome === "context_limit" && !usedFallback && codex.fallback_model &&
      codex.fallback_model !== model
    ) {
      usedFallback = true;
      model = codex.fallback_model;
      announceRetry(
        ctx,
        ticket,
        `context window exceeded; retrying with fallback model ${model}`,
        0,
        model,
      );
      if (stopRequested(ctx)) break;
      result = await runAttempt(ctx, {
        ticket,
        kind: "fallback",
        model,
        effort,
        prompt,
        carryOver: unfinishedWork(ctx, ticket),
      });
      continue;
    }
    if (result.transient && retries < codex.max_retries) {
      retries++;
      if (await backOffForRetry(ctx, ticket, result, retries, model)) break;
      if (stopRequested(ctx)) break;
      result = await runAttempt(ctx, {
        ticket,
        kind: "retry",
        model,
        effort,
        prompt,
        carryOver: unfinishedWork(ctx, ticket),
      });
      continue;
    }
    break;
  }
  return result;
}

/**
 * Announces transient-error retry number `retry` (a `retry` event and progress) and waits its
 * backoff, `codex.retry_backoff_s × 2^(retry − 1)` seconds. Returns true when a stop came during
 * the wait: the caller must then not start the retry.
 */
export async function backOffForRetry(
  ctx: AttemptContext,
  ticket: Ticket,
  result: AttemptOutcome,
  retry: number,
  model: string | null,
): Promise<boolean> {
  const codex = ctx.config.codex;
  const delayS = codex.retry_backoff_s * 2 ** (retry - 1);
  announceRetry(
    ctx,
    ticket,
    `transient error (${result.message}); retry ${retry} of ${codex.max_retries} in ${delayS}s`,
    delayS,
    model,
  );
  return await ctx.stop.sleep(delayS * 1000);
}

function announceRetry(
  ctx: AttemptContext,
  ticket: Ticket,
  reason: string,
  delayS: number,
  model: string | null,
) {
  recordEvent(ctx.db, {
    runId: ctx.runId,
    event: "retry",
    ticket: ticket.file,
    model,
    message: reason,
  });
  ctx.progress({
    kind: "retry",
    runId: ctx.runId,
    target: ctx.target,
    ticket: ticket.id,
    reason,
    delayS,
    model,
  });
}

/**
 * Files earlier attempts at this ticket changed and left uncommitted (a failed attempt, in this
 * run or an earlier one): they are the ticket's own work, so the commit of the attempt that
 * finishes it includes them. Nothing is carried over once the ticket's last attempt ended done.
 */
function unfinishedWork(ctx: AttemptContext, ticket: Ticket): string[] {
  const history = ticketHistory(ctx.db, ctx.target, ticket.id);
  if (!history || history.attempts.at(-1)?.outcome === "done") return [];
  return uncommittedAttemptPaths(history);
}

/**
 * Looks at the database for a `cmcs stop` right before another attempt starts, so a stop that
 * lands between two attempts never lets one more worker start (the run's poll alone checks only
 * every 250 ms).
 */
function stopRequested(ctx: AttemptContext): boolean {
  ctx.checkStop?.();
  return ctx.stop.stopped;
}
