import type { Config } from "../config.ts";
import type { Database } from "../db/database.ts";
import { getRun } from "../db/runs.ts";
import type { RunRow, RunStatus } from "../db/types.ts";
import { explainFailure } from "../outcome.ts";
import type { Project } from "../project.ts";
import {
  discoverTickets,
  previousProgress,
  type Ticket,
  ticketProblemLine,
  ticketQueue,
} from "../tickets.ts";
import { buildPrompt } from "./prompt.ts";
import type { ProgressSink } from "./progress.ts";
import type { AttemptOutcome } from "./run_attempt.ts";
import { startRun } from "./run_lifecycle.ts";
import { attemptWithRetries, unfinishedWork } from "./retry.ts";
import type { Journal } from "./journal.ts";
import type { TreeLook } from "../git_changes.ts";
import type { StopController } from "./stop_control.ts";

export interface TargetRunOptions {
  db: Database;
  project: Project;
  config: Config;
  target: string;
  ticketsDir: string;
  broker: { pid: number; start: string | null };
  /** The broker-wide stop (signals); each run also watches its own `stop_requested_at`. */
  stop: StopController;
  progress: ProgressSink;
}

export interface TargetRunResult {
  run: RunRow;
  status: RunStatus;
  message: string | null;
  tickets: { ticket: string; outcome: string; attempts: number }[];
}

/**
 * The ticket loop of one target: re-reads the tickets before each step, runs the first one that is
 * not done and is for Codex, and stops at the first ticket that does not end done. Tickets for
 * other agents are announced once per run. A malformed ticket reached in order fails the run with
 * its problem; it is never dispatched. Whatever happens, the run ends in a terminal status.
 */
export async function runTarget(opts: TargetRunOptions): Promise<TargetRunResult> {
  const { db, target } = opts;
  const lifecycle = startRun(opts);
  const { run, stop, checkStop, journal } = lifecycle;
  const tickets: TargetRunResult["tickets"] = [];
  let status: RunStatus = "failed";
  let message: string | null = null;
  try {
    const announced = new Set<string>();
    let first = true;
    // The working tree as the last attempt left it: the next ticket starts from it (retry.ts).
    let look: Promise<TreeLook | null> | TreeLook | null = null;
    while (true) {
      // Checked here too, not only by the poll: a stop asked for between tickets must keep the
      // next ticket from starting.
      checkStop();
      if (stop.stopped) {
        status = "stopped";
        message = stop.message;
        break;
      }
      const entries = await discoverTickets(opts.ticketsDir);
      const queue = ticketQueue(entries);
      if (first) {
        journal.emit({ kind: "run_started", runId: run.id, target, pending: queue.pending });
        first = false;
      }
      announceSkipped(journal, run.id, target, queue.skipped, announced);
      const next = queue.next;
      if (next === null) {
        status = "completed";
        break;
      }
      const entry = entries[next];
      if (!entry.ok) {
        message = ticketProblemLine(entry);
        tickets.push({ ticket: entry.id, outcome: "ticket_error", attempts: 0 });
        lifecycle.ticketFinished(entry, "ticket_error", 0, message);
        status = "failed";
        break;
      }
      checkStop();
      if (stop.stopped) continue;
      const ctx = { ...opts, stop, checkStop, journal, runId: run.id };
      const ticket = entry.ticket;
      const codex = opts.config.codex;
      const result: AttemptOutcome = await attemptWithRetries(ctx, {
        ticket,
        prompt: buildPrompt({ target, ticket, previousProgress: previousProgress(entries, next) }),
        model: ticket.model ?? codex.model,
        effort: ticket.reasoning_effort ?? codex.reasoning_effort,
        firstKind: "first",
        fallbackModel: codex.fallback_model,
        firstCarryOver: unfinishedWork(ctx, ticket),
        firstLook: look,
      });
      look = result.look;
      tickets.push({
        ticket: entry.ticket.id,
        outcome: result.outcome,
        attempts: result.attempt.number,
      });
      lifecycle.ticketFinished(entry.ticket, result.outcome, result.attempt.number, result.message);
      if (result.outcome !== "done") {
        // A stop that came after the attempt ended (during a retry's backoff) stops the run too.
        const stoppedLater = result.outcome !== "stopped" && stop.stopped;
        status = result.outcome === "stopped" || stoppedLater ? "stopped" : "failed";
        const why = explainFailure(result.outcome, result.message, result.attempt.resets_at);
        message = `${entry.ticket.id}: ${result.outcome}${why ? ` — ${why}` : ""}${
          stoppedLater ? `; then ${stop.message}` : ""
        }`;
        break;
      }
    }
  } catch (error) {
    status = "failed";
    message = `internal error in cmcs: ${(error as Error).message}`;
    throw error;
  } finally {
    const final = lifecycle.finish(status, message);
    status = final.status;
    message = final.message;
  }
  return { run: getRun(db, run.id)!, status, message, tickets };
}

/** Announces each ticket for another agent once per run, as the queue lists it (dry run alike). */
function announceSkipped(
  journal: Journal,
  runId: number,
  target: string,
  skipped: Ticket[],
  announced: Set<string>,
) {
  for (const ticket of skipped) {
    if (announced.has(ticket.file)) continue;
    announced.add(ticket.file);
    journal.emit({
      kind: "skipped",
      runId,
      target,
      ticket: ticket.id,
      file: ticket.file,
      agent: ticket.agent,
    });
  }
}
