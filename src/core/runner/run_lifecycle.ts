import type { Database } from "../db/database.ts";
import { lastStopSource, recordEvent } from "../db/events.ts";
import { unsettledAttempts } from "../db/attempts.ts";
import { createRun, finishRun, getRun } from "../db/runs.ts";
import type { Outcome, RunRow, RunStatus } from "../db/types.ts";
import type { ProgressSink } from "./progress.ts";
import { StopController } from "./stop_control.ts";
import { highestLoggedRunId } from "../log_dirs.ts";
import { stoppedBy } from "../stop_run.ts";
import type { Project } from "../project.ts";

/** How often a running broker looks for a `cmcs stop` recorded in the database. */
const STOP_POLL_MS = 250;

export interface RunLifecycleOptions {
  db: Database;
  /** Where the run's logs go: a new run's id is above every id that has a log directory there. */
  project: Pick<Project, "logsDir">;
  target: string;
  broker: { pid: number; start: string | null };
  /** The broker-wide stop (signals): it stops this run too. */
  stop: StopController;
  progress: ProgressSink;
}

/** A run that has been created and is watched for stops; `finish` must be called exactly once. */
export interface RunLifecycle {
  run: RunRow;
  /** The run's own stop: the broker's stop, a `cmcs stop` of this run, or its row ending. */
  stop: StopController;
  /**
   * Looks for a stop in the database now, not only on the next poll: called between tickets so a
   * stop asked for meanwhile keeps the next ticket from starting.
   */
  checkStop(): void;
  /** Reports the `ticket_finished` progress of a ticket the run acted on. */
  ticketFinished(
    ticket: { id: string; path: string },
    outcome: Outcome,
    attempts: number,
    message: string | null,
  ): void;
  /**
   * Ends the run: stops the poll and the broker subscription, sets `status` and `message` unless
   * the row already ended (a `cmcs stop` or recovery that finished it keeps its status), records
   * the `run_finished` event and progress, and returns the final row.
   *
   * A run whose attempt an error left half done (still open, or its commit pending: the database
   * failed mid-attempt) stays `running`: recovery settles it once this broker has exited, as it
   * does after a crash, so a done ticket's work is committed or the ticket re-opened. When the
   * database cannot be written at all, the row is left for recovery too and the returned row
   * says what this broker meant to record; the error that broke the run is the one reported.
   */
  finish(status: RunStatus, message: string | null): RunRow;
}

/**
 * Creates a run on `opts.target` (refusing while another live run is active there) and starts
 * watching it: the broker-wide stop and a poll of the run's `stop_requested_at` (or of its row no
 * longer being `running`) both request the run's own stop with reason `stopped`.
 */
export function startRun(
  opts: RunLifecycleOptions,
  runOptions: Record<string, unknown> = {},
): RunLifecycle {
  const { db, target } = opts;
  const run = createRun(
    db,
    target,
    opts.broker,
    runOptions,
    highestLoggedRunId(opts.project.logsDir),
  );
  const stop = new StopController();
  const offBroker = opts.stop.onStop(() =>
    stop.request(opts.stop.reason ?? "stopped", opts.stop.message ?? "stopped")
  );
  const checkStop = () => {
    const current = getRun(db, run.id);
    if (current?.stop_requested_at || (current && current.status !== "running")) {
      stop.request("stopped", stoppedBy(lastStopSource(db, run.id) ?? "cmcs stop"));
    }
  };
  const poll = setInterval(checkStop, STOP_POLL_MS);
  return {
    run,
    stop,
    checkStop,
    ticketFinished(ticket, outcome, attempts, message) {
      opts.progress({
        kind: "ticket_finished",
        runId: run.id,
        target,
        ticket: ticket.id,
        file: ticket.path,
        outcome,
        attempts,
        message,
      });
    },
    finish(status, message) {
      clearInterval(poll);
      offBroker();
      let final: RunRow = { ...run, status, message };
      try {
        if (unsettledAttempts(db, run.id).length === 0) {
          finishRun(db, run.id, status, message);
          final = getRun(db, run.id)!;
          recordEvent(db, {
            runId: run.id,
            event: "run_finished",
            outcome: final.status,
            message: final.message,
          });
        }
      } catch { /* the database is what failed: recovery ends the run once this broker is gone */ }
      opts.progress({
        kind: "run_finished",
        runId: run.id,
        target,
        status: final.status,
        message: final.message,
      });
      return final;
    },
  };
}
