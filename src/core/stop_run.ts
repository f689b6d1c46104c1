/**
 * Stopping a running run, shared by `cmcs stop` and the dashboard's stop button so both behave
 * the same: ask the broker, wait for it, and end the worker trees from here only when it does not
 * react in time.
 */
import { UserError } from "./errors.ts";
import { loadConfig } from "./config.ts";
import { closeAttempt, openAttempts } from "./db/attempts.ts";
import type { Database } from "./db/database.ts";
import { recordEvent } from "./db/events.ts";
import { brokerAlive, finishRun, getRun, requestStop } from "./db/runs.ts";
import type { RunRow, RunStatus } from "./db/types.ts";
import { isAlive, killProcessTree } from "./process_tree.ts";
import type { Project } from "./project.ts";

/** What a stop did; the JSON of `cmcs stop --json` and of the dashboard's `POST …/stop`. */
export interface StopResult {
  run_id: number;
  target: string;
  /**
   * The run's status in the database afterwards: `stopped`, how it ended on its own meanwhile, or
   * still `running` when its broker lives on without having ended it (see `broker_alive`).
   */
  status: RunStatus;
  /** The ticket that was running when the stop was asked for. */
  ticket: string | null;
  /** True when the broker did not react in time and the worker trees were ended from here. */
  forced: boolean;
  message: string | null;
  broker_pid: number | null;
  /**
   * True when the broker was still alive when `stop` gave up waiting: the run stays `running` with
   * its stop recorded (the broker ends it once it gets past what holds it), and no second broker
   * can take the target meanwhile.
   */
  broker_alive: boolean;
}

/** The run id names no run. */
export class NoSuchRunError extends UserError {
  constructor(readonly runId: number) {
    super(`no run with id ${runId}`, { hint: "see what ran with `cmcs status`" });
  }
}

/** The run has already ended. */
export class RunNotRunningError extends UserError {
  constructor(readonly run: RunRow) {
    super(`run ${run.id} is not running (it ended as ${run.status})`, {
      hint: "see `cmcs status`",
    });
  }
}

/** How long `stop` waits for the broker once more after ending the worker trees itself. */
const AFTER_FORCE_MS = 5000;

/**
 * Stops run `runId`: records `stop_requested` (with `source`, who asked — `cmcs stop` or `the
 * dashboard` — as its message), sets the run's `stop_requested_at` (the broker polls it, ends the
 * step it is in — the worker's whole process tree, or a commit after `graceS` — records the attempt
 * `stopped` and starts no further ticket) and waits up to `graceS + 5` seconds for the database to
 * say the run ended. A broker that does not react in time is bypassed: the open attempts' worker
 * trees are ended from this process, and the broker gets {@link AFTER_FORCE_MS} more. The run is
 * marked `stopped` from here only when its broker is gone: a broker that lives owns its run, and a
 * run marked ended under a live broker would let a second broker take the target. The result is
 * what the database says afterwards — the run may have ended on its own meanwhile, or still be
 * `running` under a live broker (`broker_alive`). `graceS` defaults to the project's
 * `codex.stop_grace_s`. Throws {@link NoSuchRunError} or {@link RunNotRunningError}.
 */
export async function stopRun(
  db: Database,
  project: Project,
  runId: number,
  graceS?: number,
  source = "cmcs stop",
): Promise<StopResult> {
  const run = getRun(db, runId);
  if (!run) throw new NoSuchRunError(runId);
  if (run.status !== "running") throw new RunNotRunningError(run);
  const grace = graceS ?? (await loadConfig(project)).config.codex.stop_grace_s;
  const ticket = run.current_ticket;
  requestStop(db, run.id);
  recordEvent(db, {
    runId: run.id,
    event: "stop_requested",
    ticket: ticket ?? "",
    message: source,
  });

  let final = await waitForEnd(db, run.id, (grace + 5) * 1000);
  let forced = false;
  if (final.status === "running") {
    forced = true;
    await killAttemptTrees(db, run, grace, stoppedBy(source));
    final = await waitForEnd(db, run.id, AFTER_FORCE_MS);
    if (final.status === "running" && !brokerAlive(final)) {
      finishRun(db, run.id, "stopped", `${stoppedBy(source)} (the broker did not respond)`);
      final = getRun(db, run.id)!;
    }
  }
  return {
    run_id: run.id,
    target: run.worktree,
    status: final.status,
    ticket,
    forced,
    message: final.message,
    broker_pid: run.broker_pid,
    broker_alive: final.status === "running" && brokerAlive(final),
  };
}

/**
 * How a stop is recorded, naming who asked for it: "stopped by \`cmcs stop\`", "stopped by the
 * dashboard". `source` is the `stop_requested` event's message.
 */
export function stoppedBy(source: string): string {
  return `stopped by ${source.startsWith("cmcs ") ? `\`${source}\`` : source}`;
}

/**
 * Polls until the run ended, its broker is gone, or `ms` passed; returns the row as it is then.
 * A row that disappeared was a `worktree cleanup`'s hold on the target, given up on the stop: it
 * counts as stopped.
 */
async function waitForEnd(db: Database, runId: number, ms: number): Promise<RunRow> {
  const deadline = Date.now() + ms;
  let last = getRun(db, runId)!;
  for (let i = 0;; i++) {
    const row = getRun(db, runId);
    if (!row) return { ...last, status: "stopped", message: "the cleanup holding it gave up" };
    const run = last = row;
    if (run.status !== "running" || Date.now() > deadline) return run;
    // Looking at the process table costs a process: once a second is enough.
    if (i % 10 === 9 && !brokerAlive(run)) return run;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Ends the worker trees of a run's open attempts from this process and closes those attempts. */
export async function killAttemptTrees(
  db: Database,
  run: RunRow,
  graceS: number,
  message = "stopped by `cmcs stop`",
): Promise<void> {
  for (const attempt of openAttempts(db, run.id)) {
    if (
      attempt.worker_pid &&
      (attempt.process_token || isAlive(attempt.worker_pid, attempt.worker_start))
    ) {
      await killProcessTree({
        pid: attempt.worker_pid,
        start: attempt.worker_start,
        token: attempt.process_token,
        graceS,
      });
    }
    closeAttempt(db, attempt.id, "stopped", message);
  }
}
