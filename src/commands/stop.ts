import { UserError } from "../cli/errors.ts";
import { printReport, type Report } from "../cli/report.ts";
import type { Database } from "../core/db/database.ts";
import { getRun, runningRunsOf } from "../core/db/runs.ts";
import type { RunRow } from "../core/db/types.ts";
import { loadConfig } from "../core/config.ts";
import { recoverOrphans } from "../core/recovery.ts";
import { openTargetOrRun } from "../core/run_lookup.ts";
import { NoSuchRunError, RunNotRunningError, type StopResult, stopRun } from "../core/stop_run.ts";
import { dequeue } from "../core/db/worktree_queue.ts";

/**
 * `cmcs stop <path | run-id>`: asks the run's broker to stop (it ends the worker's whole process
 * tree, records the attempt `stopped` and starts no further ticket) and waits until the database
 * says the run ended. A broker that does not react in time is bypassed: the worker tree is ended
 * from here, and the run is marked `stopped` only if the broker is gone. What this prints is what
 * the database says: a broker still alive is reported as such, with exit 1. A target still
 * waiting for a `run.max_parallel` slot is taken out of its broker's queue instead.
 */
export async function stop(arg: string, opts: { json?: boolean }): Promise<number> {
  return printReport(await stopReport(arg), opts.json);
}

/** What `cmcs stop --json` prints: the run's state afterwards, or `dequeued` for a queued target. */
export type StopReport = Omit<StopResult, "run_id" | "target" | "status"> & {
  run_id: number | null;
  target: string | null;
  status: StopResult["status"] | "dequeued";
};

/** Stops the run `arg` names (see {@link stop}) and reports what the database says. */
export async function stopReport(arg: string): Promise<Report<StopReport>> {
  const opened = await openTargetOrRun(arg);
  const { db } = opened;
  try {
    await recoverOrphans(db);
    const found = lookupRun(db, opened.target, opened.runId);
    if (!found && opened.runId === null && opened.target !== null) {
      const mark = dequeue(db, opened.target);
      if (mark) {
        return {
          code: 0,
          data: {
            run_id: null,
            target: opened.target,
            status: "dequeued",
            ticket: null,
            forced: false,
            message: `waiting for a run.max_parallel slot in broker pid ${mark.broker_pid}`,
            broker_pid: mark.broker_pid,
            broker_alive: true,
          },
          text: [
            `took ${opened.label} out of the queue: broker pid ${mark.broker_pid} will not start it`,
          ],
        };
      }
    }
    const run = requireRunning(found, opened.runId, opened.label);
    const { config } = await loadConfig(opened.project);
    const result = await stopRun(db, opened.project, run.id, config.codex.stop_grace_s);
    const { ticket, forced } = result;
    let line: string;
    if (result.status === "stopped") {
      line = `stopped run ${run.id}${ticket ? ` (${ticket} was running)` : ""}${
        forced ? "; the broker did not respond, so cmcs ended the worker itself" : ""
      }`;
    } else if (result.status === "running") {
      line =
        `stop requested for run ${run.id}, but its broker (pid ${result.broker_pid}) is still running${
          forced ? "; cmcs ended the worker itself" : ""
        }; the run stays running until the broker ends it (see \`cmcs status\`)`;
    } else {
      line = `run ${run.id} ended as ${result.status} before the stop took effect${
        result.message ? `: ${result.message}` : ""
      }`;
    }
    return { code: result.status === "stopped" ? 0 : 1, data: result, text: [line] };
  } finally {
    db.close();
  }
}

/** The run `runId` names, or the target's newest running run. */
function lookupRun(db: Database, target: string | null, runId: number | null): RunRow | undefined {
  if (runId !== null) return getRun(db, runId);
  return target === null ? undefined : runningRunsOf(db, target)[0];
}

function requireRunning(run: RunRow | undefined, runId: number | null, label: string): RunRow {
  if (!run) {
    if (runId !== null) throw new NoSuchRunError(runId);
    throw new UserError(`nothing is running on ${label}`, {
      hint: "see what ran with `cmcs status`",
    });
  }
  if (run.status !== "running") throw new RunNotRunningError(run);
  return run;
}
