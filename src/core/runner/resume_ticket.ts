import { join } from "../path.ts";
import { UserError } from "../errors.ts";
import type { Config } from "../config.ts";
import type { Database } from "../db/database.ts";
import { recordReview, ticketReviewRows } from "../db/reviews.ts";
import type { AttemptRow, RunRow, RunStatus } from "../db/types.ts";
import type { Project } from "../project.ts";
import { explainFailure } from "../outcome.ts";
import {
  latestThreadAttempt,
  ticketHistory,
  uncommittedAttemptPaths,
} from "../review/ticket_history.ts";
import {
  discoverTickets,
  findTicket,
  setTicketDone,
  type Ticket,
  type TicketEntry,
  ticketProblemLine,
} from "../tickets.ts";
import { ticketsRunOn } from "../db/attempts.ts";
import { findTicketRef } from "../ticket_ref.ts";
import { ATTEMPT_FILES } from "./execute_worker.ts";
import type { ProgressSink } from "./progress.ts";
import { buildResumePrompt } from "./prompt.ts";
import type { AttemptContext, AttemptOutcome } from "./run_attempt.ts";
import { attemptWithRetries } from "./retry.ts";
import { startRun } from "./run_lifecycle.ts";
import type { StopController } from "./stop_control.ts";

/** What `cmcs resume` continues: the ticket, and the attempt whose Codex thread it resumes. */
export interface ResumePlan {
  ticket: Ticket;
  /** The newest attempt of the ticket's current work that recorded a thread id. */
  source: AttemptRow;
  threadId: string;
  /** Paths earlier attempts changed and left uncommitted: the resume's commit includes them. */
  carryOver: string[];
}

/**
 * Finds the ticket `ref` names and the Codex thread to continue. The reference is read among the
 * tickets that ran on `target`, as `result`, `diff` and `accept` read it (src/core/ticket_ref.ts):
 * only a ticket that ran has a conversation to continue, so a ticket file that never ran (a
 * TICKET-002-fix written for later) cannot make `2` ambiguous here while `result . 2` finds
 * TICKET-002. Errors, all before anything is changed: a reference naming no ticket that ran (said
 * of the ticket file when one matches), naming several, a ticket file gone or malformed, or no
 * thread recorded for it (its worker never started a conversation).
 */
export async function planResume(
  db: Database,
  target: string,
  ticketsDir: string,
  ref: string,
): Promise<ResumePlan> {
  const entries = await discoverTickets(ticketsDir);
  const id = findTicketRef(ticketsRunOn(db, target), ref);
  if (id === undefined) {
    const file = findTicket(entries, ref);
    if (!file) {
      throw new UserError(`no ticket "${ref}" in ${ticketsDir}`, {
        hint: "list the tickets with `cmcs ticket validate`",
      });
    }
    throw new UserError(
      `${entryId(file)} has no Codex thread to resume: it has not run on this target`,
      { hint: "start a new attempt with `cmcs run`" },
    );
  }
  const entry = entries.find((candidate) => entryId(candidate) === id);
  if (!entry) {
    throw new UserError(`${id} ran on this target but has no ticket file in ${ticketsDir}`, {
      hint: `restore it (\`git log --oneline -- '${ticketsDir}/${id}.md'\` shows where it went)`,
    });
  }
  if (!entry.ok) {
    throw new UserError(ticketProblemLine(entry), {
      hint: `fix ${entry.path} first (\`cmcs ticket validate\` shows every problem)`,
    });
  }
  const ticket = entry.ticket;
  const history = ticketHistory(db, target, ticket.id);
  const source = history ? latestThreadAttempt(history) : null;
  if (!history || !source?.thread_id) {
    throw new UserError(
      `${ticket.id} has no Codex thread to resume: none of its attempts started one`,
      { hint: "start a new attempt with `cmcs run`" },
    );
  }
  return {
    ticket,
    source,
    threadId: source.thread_id,
    carryOver: uncommittedAttemptPaths(history),
  };
}

function entryId(entry: TicketEntry): string {
  return entry.ok ? entry.ticket.id : entry.id;
}

export interface ResumeOptions {
  db: Database;
  project: Project;
  config: Config;
  target: string;
  broker: { pid: number; start: string | null };
  /** The broker-wide stop (signals); the run also watches its own `stop_requested_at`. */
  stop: StopController;
  progress: ProgressSink;
  plan: ResumePlan;
  feedback: string;
}

export interface ResumeResult {
  run: RunRow;
  status: RunStatus;
  message: string | null;
  /** The last attempt made (the resume, or its transient-error retry). */
  attempt: AttemptRow;
  outcome: AttemptOutcome["outcome"];
  /** Codex no longer has the thread (`no rollout found for thread id`). */
  threadGone: boolean;
}

const THREAD_GONE = /no rollout found for thread id/i;

/**
 * Continues a ticket's Codex conversation with the orchestrator's feedback, as a run of its own on
 * the target: the run is created first (so it refuses while another run is active there), then the
 * ticket is re-opened (`done: false`), then one attempt of kind `resume` runs
 * `codex exec … resume <thread id> -` with the feedback prompt on stdin and the thread's model and
 * effort. Logs, outcomes, stop, timeouts and auto-commit are those of any attempt. A transient
 * failure is retried like a normal attempt (same thread); there is no fallback model, since a
 * different model cannot continue the conversation. Whatever happens, the run ends in a terminal
 * status.
 */
export async function resumeTicket(opts: ResumeOptions): Promise<ResumeResult> {
  const { db, target, plan } = opts;
  const { ticket } = plan;
  const lifecycle = startRun(opts, { resume: ticket.id, thread_id: plan.threadId });
  const { run, stop, journal } = lifecycle;
  let status: RunStatus = "failed";
  let message: string | null = null;
  let result: AttemptOutcome | null = null;
  let threadGone = false;
  let final: RunRow;
  try {
    journal.emit({ kind: "run_started", runId: run.id, target, pending: 1 });
    recordSentBack(db, target, ticket.id, run.id, opts.feedback);
    await setTicketDone(ticket.path, false);
    const ctx: AttemptContext = {
      db,
      project: opts.project,
      config: opts.config,
      target,
      runId: run.id,
      stop,
      checkStop: lifecycle.checkStop,
      journal,
    };
    // The thread's model and effort: there is no fallback model, since a different model cannot
    // continue the conversation.
    result = await attemptWithRetries(ctx, {
      ticket,
      prompt: buildResumePrompt({ ticket, feedback: opts.feedback }),
      model: plan.source.model,
      effort: plan.source.reasoning_effort,
      firstKind: "resume",
      resumeThreadId: plan.threadId,
      fallbackModel: null,
      firstCarryOver: plan.carryOver,
    });
    lifecycle.ticketFinished(ticket, result.outcome, result.attempt.number, result.message);
    threadGone = result.outcome === "worker_failed" &&
      (THREAD_GONE.test(result.message ?? "") ||
        THREAD_GONE.test(await stderrOf(opts.project, result.attempt)));
    if (result.outcome === "done") status = "completed";
    else {
      // A stop that came after the attempt ended (during a retry's backoff) stops the run too.
      const stoppedLater = result.outcome !== "stopped" && stop.stopped;
      status = result.outcome === "stopped" || stoppedLater ? "stopped" : "failed";
      const why = explainFailure(result.outcome, result.message, result.attempt.resets_at);
      message = `${ticket.id}: ${threadGone ? "Codex thread gone" : result.outcome}${
        why ? ` — ${why}` : ""
      }${stoppedLater ? `; then ${stop.message}` : ""}`;
    }
  } catch (error) {
    status = "failed";
    message = error instanceof UserError
      ? error.message
      : `internal error in cmcs: ${(error as Error).message}`;
    throw error;
  } finally {
    final = lifecycle.finish(status, message);
  }
  return {
    run: final,
    status: final.status,
    message: final.message,
    attempt: result!.attempt,
    outcome: result!.outcome,
    threadGone,
  };
}

/**
 * The review queue's "sent back": recorded against the ticket's latest attempt once the resume's
 * run exists (a refused resume sends nothing back), with the feedback's first line. The ticket
 * waits for review again when a new attempt ends `done`.
 */
function recordSentBack(
  db: Database,
  target: string,
  ticket: string,
  runId: number,
  feedback: string,
): void {
  const [latest] = ticketReviewRows(db, { targets: [target], tickets: [ticket] });
  if (!latest) return;
  const line = feedback.trim().split("\n")[0];
  recordReview(db, {
    target,
    ticket,
    attemptId: latest.attempt_id,
    decision: "sent_back",
    runId,
    message: line.length > 200 ? `${line.slice(0, 199)}…` : line,
  });
}

async function stderrOf(project: Project, attempt: AttemptRow): Promise<string> {
  if (!attempt.log_dir) return "";
  try {
    const text = await Deno.readTextFile(
      join(project.logsDir, attempt.log_dir, ATTEMPT_FILES.stderr),
    );
    return text.slice(-8192);
  } catch {
    return "";
  }
}
