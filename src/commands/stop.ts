import { UserError } from "../cli/errors.ts";
import { printJson } from "../cli/output.ts";
import { finishAttempt, openAttempts } from "../core/db/attempts.ts";
import { recordEvent } from "../core/db/events.ts";
import { finishRun, getRun, requestStop } from "../core/db/runs.ts";
import type { RunRow } from "../core/db/types.ts";
import { loadConfig } from "../core/config.ts";
import { isAlive, killProcessTree } from "../core/process_tree.ts";
import { recoverOrphans } from "../core/recovery.ts";
import { openTargetOrRun } from "../core/run_lookup.ts";

/**
 * `cmcs stop <path | run-id>`: asks the run's broker to stop (it ends the worker's whole process
 * tree, records the attempt `stopped` and starts no further ticket) and waits until the database
 * says the run ended. A broker that does not react in time is bypassed: the worker tree is ended
 * from here and the run is marked `stopped`. What this prints is what the database says.
 */
export async function stop(arg: string, opts: { json?: boolean }): Promise<number> {
  const opened = await openTargetOrRun(arg);
  const { db } = opened;
  try {
    await recoverOrphans(db);
    const run = findRunning(opened.db, opened.target, opened.runId, opened.label);
    const { config } = await loadConfig(opened.project);
    const ticket = run.current_ticket;
    requestStop(db, run.id);
    recordEvent(db, {
      runId: run.id,
      event: "stop_requested",
      ticket: ticket ?? "",
      message: "cmcs stop",
    });

    const graceS = config.codex.stop_grace_s;
    let final = await waitForEnd(db, run.id, (graceS + 5) * 1000);
    let forced = false;
    if (final.status === "running") {
      forced = true;
      await killAttemptTrees(db, run, graceS);
      finishRun(db, run.id, "stopped", "stopped by `cmcs stop` (the broker did not respond)");
      final = getRun(db, run.id)!;
    }
    if (opts.json) {
      printJson({
        run_id: run.id,
        target: run.worktree,
        status: final.status,
        ticket,
        forced,
        message: final.message,
      });
    } else if (final.status === "stopped") {
      console.log(
        `stopped run ${run.id}${ticket ? ` (${ticket} was running)` : ""}${
          forced ? "; the broker did not respond, so cmcs ended the worker itself" : ""
        }`,
      );
    } else {
      console.log(
        `run ${run.id} ended as ${final.status} before the stop took effect${
          final.message ? `: ${final.message}` : ""
        }`,
      );
    }
    return final.status === "stopped" ? 0 : 1;
  } finally {
    db.close();
  }
}

function findRunning(
  db: import("../core/db/database.ts").Database,
  target: string | null,
  runId: number | null,
  label: string,
): RunRow {
  const run = runId ? getRun(db, runId) : db.get<RunRow>(
    "SELECT * FROM runs WHERE worktree = ? AND status = 'running' ORDER BY id DESC LIMIT 1",
    target,
  );
  if (!run) {
    throw new UserError(runId ? `no run with id ${runId}` : `nothing is running on ${label}`, {
      hint: "see what ran with `cmcs status`",
    });
  }
  if (run.status !== "running") {
    throw new UserError(`run ${run.id} is not running (it ended as ${run.status})`, {
      hint: "see `cmcs status`",
    });
  }
  return run;
}

async function waitForEnd(
  db: import("../core/db/database.ts").Database,
  runId: number,
  ms: number,
): Promise<RunRow> {
  const deadline = Date.now() + ms;
  while (true) {
    const run = getRun(db, runId)!;
    if (run.status !== "running" || Date.now() > deadline) return run;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Ends the worker trees of a run's open attempts from this process and closes those attempts. */
export async function killAttemptTrees(
  db: import("../core/db/database.ts").Database,
  run: RunRow,
  graceS: number,
) {
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
    finishAttempt(db, attempt.id, {
      outcome: "stopped",
      message: "stopped by `cmcs stop`",
      exitCode: null,
      signal: null,
      threadId: null,
      usage: null,
      finalMessage: null,
      resetsAt: null,
    });
  }
}
