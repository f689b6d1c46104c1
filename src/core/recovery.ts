import type { Database } from "./db/database.ts";
import { finishRun, runningRuns, setRunMessage } from "./db/runs.ts";
import { isHold, releaseHold } from "./db/target_hold.ts";
import { openAttempts, unsettledAttempts } from "./db/attempts.ts";
import { isSameProcessAlive, sameProcessesAlive } from "./process_identity.ts";
import { onDemand } from "./lazy.ts";

/**
 * Loaded only when an orphaned run is found: `status` and `brief` run recovery on every prompt,
 * and settling needs the ticket parser (with its YAML package) and the process-tree killer.
 */
interface OnDemand {
  "src/core/process_tree.ts": typeof import("./process_tree.ts");
  "src/core/settle_attempts.ts": typeof import("./settle_attempts.ts");
}
const load = onDemand<OnDemand>();

/** Seconds a left-over worker gets between signals before it is killed outright. */
const WORKER_GRACE_S = 3;

/** A run that {@link recoverOrphans} found without its broker and marked `interrupted`. */
export interface RecoveredRun {
  run_id: number;
  target: string;
  /** The ticket the run was working on (its newest open attempt), if any. */
  ticket: string | null;
  broker_pid: number | null;
  /** Pids of worker processes that were still alive and whose process trees were ended. */
  killed_workers: number[];
  /** Problems ending those processes (the run is marked interrupted regardless). */
  errors: string[];
  /** What was done to finish the attempts it left half done (see settle_attempts.ts). */
  settled: string[];
}

/**
 * Marks every `running` run whose broker is gone `interrupted`, closes its open attempts as
 * `worker_failed`, and ends any worker process tree it left behind. Liveness follows the
 * **broker** (pid plus start token, so a reused pid does not count as alive): a run whose broker
 * lives is never touched, even when its worker has exited — the broker may simply be between
 * tickets (the earlier tool's worst bug was to key this on the worker's pid). A run with no broker
 * recorded (migrated from the earlier tool) counts as orphaned. Safe to call from several
 * processes at once: the first terminal status wins and later finishes change nothing.
 *
 * The process that wins then settles the run's half-done attempts (after its workers are gone, so
 * the working tree holds still): a commit the broker made but never recorded is recorded, a
 * pending commit is made, and a ticket left `done: true` with its work uncommitted is re-opened,
 * so no work is lost and no ticket is skipped as done. What it did is added to the run's message.
 */
export async function recoverOrphans(db: Database): Promise<RecoveredRun[]> {
  const recovered: RecoveredRun[] = [];
  const running = runningRuns(db);
  // One look at the process table for every broker: parallel runs often share one.
  const alive = sameProcessesAlive(
    running.map((run) => ({ pid: run.broker_pid, start: run.broker_start })),
  );
  for (const [i, run] of running.entries()) {
    if (alive[i]) continue;
    // A lock held by a `worktree cleanup` that was killed ran nothing: it goes, leaving no run.
    if (isHold(run)) {
      releaseHold(db, run);
      continue;
    }
    const open = openAttempts(db, run.id);
    const killed: number[] = [];
    const errors: string[] = [];
    for (const attempt of open) {
      if (!attempt.worker_pid) continue;
      const rootAlive = isSameProcessAlive(attempt.worker_pid, attempt.worker_start);
      // Even with the worker gone, commands it started may live on, found by the process token.
      if (!rootAlive && !attempt.process_token) continue;
      try {
        const { killProcessTree } = await load("src/core/process_tree.ts");
        const { survivors } = await killProcessTree({
          pid: attempt.worker_pid,
          start: attempt.worker_start,
          token: attempt.process_token,
          graceS: WORKER_GRACE_S,
        });
        if (survivors.length > 0) {
          errors.push(`worker processes still alive after SIGKILL: ${survivors.join(", ")}`);
        }
        if (rootAlive) killed.push(attempt.worker_pid);
      } catch (error) {
        errors.push(`cannot end worker ${attempt.worker_pid}: ${(error as Error).message}`);
      }
    }
    const message = run.broker_pid
      ? `broker process ${run.broker_pid} is gone`
      : "no broker process is recorded for this run (started by the earlier cmcs)";
    if (!finishRun(db, run.id, "interrupted", message)) continue;
    // Loaded only here: settling parses tickets, and YAML costs every `cmcs status` ~40 ms to load.
    const { settleAttempts } = await load("src/core/settle_attempts.ts");
    const settled = await settleAttempts(db, run, unsettledAttempts(db, run.id));
    if (settled.length > 0) setRunMessage(db, run.id, [message, ...settled].join("; "));
    recovered.push({
      run_id: run.id,
      target: run.worktree,
      ticket: open.at(-1)?.ticket ?? null,
      broker_pid: run.broker_pid,
      killed_workers: killed,
      errors,
      settled,
    });
  }
  return recovered;
}

/**
 * {@link recoverOrphans} for polling loops (`wait`, `logs --follow`): each check starts a process to
 * read the process table, so the returned function runs it at most once per `intervalMs` and is a
 * no-op in between. The first call runs it.
 */
export function throttledRecovery(db: Database, intervalMs = 1000): () => Promise<void> {
  let last = -Infinity;
  return async () => {
    if (Date.now() - last < intervalMs) return;
    last = Date.now();
    await recoverOrphans(db);
  };
}
