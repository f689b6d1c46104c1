/**
 * Holding a target's run lock without running tickets: `worktree cleanup` must keep `cmcs run`
 * off a worktree from its checks to the removal, or a run could start (and commit) on a worktree
 * that is being deleted. The lock of a target is a `running` run whose broker lives
 * ({@link createRun}), so a hold is exactly that: a run row owned by this process, with a message
 * saying who holds it, deleted again when the hold ends so the target's history shows no run
 * that never ran. A holder that dies leaves a `running` row with a dead broker, which
 * {@link recoverOrphans} deletes the same way.
 */
import type { Database } from "./database.ts";
import { createRun, getRun } from "./runs.ts";
import type { RunRow } from "./types.ts";

/**
 * Takes the run lock of `target` for `holder`, or throws {@link TargetBusyError} when a live run
 * has it. `purpose` is shown as the run's message (`cmcs status`, the dashboard) meanwhile.
 */
export function holdTarget(
  db: Database,
  target: string,
  holder: { pid: number; start: string | null },
  purpose: string,
): RunRow {
  const run = createRun(db, target, holder, { hold: purpose });
  db.run("UPDATE runs SET message = ? WHERE id = ?", purpose, run.id);
  return getRun(db, run.id)!;
}

/**
 * True while the hold still has the lock: its row is `running` and nobody asked it to stop
 * (`cmcs stop` on the target ends a hold like a run, and the holder must then give up).
 */
export function holdIntact(db: Database, hold: RunRow): boolean {
  const row = getRun(db, hold.id);
  return row?.status === "running" && !row.stop_requested_at;
}

/** True when `run` is a hold, not a run of tickets. */
export function isHold(run: RunRow): boolean {
  try {
    return typeof JSON.parse(run.options ?? "null")?.hold === "string";
  } catch {
    return false;
  }
}

/** Ends the hold: its row and any event recorded against it (a `cmcs stop`) are deleted. */
export function releaseHold(db: Database, hold: RunRow): void {
  db.transaction(() => {
    db.run("DELETE FROM events WHERE run_id = ?", hold.id);
    db.run("DELETE FROM runs WHERE id = ? AND options = ?", hold.id, hold.options);
  });
}
