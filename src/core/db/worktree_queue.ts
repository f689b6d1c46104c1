/**
 * Targets waiting for a `run.max_parallel` slot. A broker marks each target that has to wait as
 * queued (in the target's worktree record) before it starts any run, and clears the mark once the
 * target's run exists, so a target of a live broker is queued or has a run: `wait` and
 * `run --detach` can tell a target that is about to run from one that is idle.
 */
import type { Database } from "./database.ts";
import { isSameProcessAlive } from "../process_identity.ts";
import { nowIso } from "../time.ts";

export interface Broker {
  pid: number;
  start: string | null;
}

export interface QueueMark {
  queued_at: string;
  broker_pid: number;
  broker_start: string | null;
}

/** Marks `paths` (registered targets) queued by `broker`, in one transaction. */
export function markQueued(db: Database, paths: string[], broker: Broker): void {
  const at = nowIso();
  db.transaction(() => {
    for (const path of paths) {
      db.run(
        `UPDATE worktrees SET queued_at = ?, queued_broker_pid = ?, queued_broker_start = ?
         WHERE path = ?`,
        at,
        broker.pid,
        broker.start,
        path,
      );
    }
  });
}

/** Clears the queue mark of `path` if `broker` set it (another broker's mark is left alone). */
export function clearQueued(db: Database, path: string, broker: Broker): void {
  db.run(
    `UPDATE worktrees SET queued_at = NULL, queued_broker_pid = NULL, queued_broker_start = NULL
     WHERE path = ? AND queued_broker_pid = ?`,
    path,
    broker.pid,
  );
}

/**
 * The queue mark of `path` when the broker that set it is still alive; null otherwise (a mark
 * left by a broker that died means nothing).
 */
export function liveQueueMark(db: Database, path: string): QueueMark | null {
  const row = db.get<{
    queued_at: string | null;
    queued_broker_pid: number | null;
    queued_broker_start: string | null;
  }>(
    "SELECT queued_at, queued_broker_pid, queued_broker_start FROM worktrees WHERE path = ?",
    path,
  );
  if (!row?.queued_at || !row.queued_broker_pid) return null;
  if (!isSameProcessAlive(row.queued_broker_pid, row.queued_broker_start)) return null;
  return {
    queued_at: row.queued_at,
    broker_pid: row.queued_broker_pid,
    broker_start: row.queued_broker_start,
  };
}

/**
 * Takes `path` out of the queue of the live broker that marked it (`cmcs stop` on a target that
 * waits for a slot): the broker sees its mark gone when the slot comes and does not start the
 * target. Returns the mark that was removed, or null when the target was not queued.
 */
export function dequeue(db: Database, path: string): QueueMark | null {
  return db.transaction(() => {
    const mark = liveQueueMark(db, path);
    if (!mark) return null;
    db.run(
      `UPDATE worktrees SET queued_at = NULL, queued_broker_pid = NULL, queued_broker_start = NULL
       WHERE path = ?`,
      path,
    );
    return mark;
  });
}

/** True while `path` still carries the queue mark `broker` set (nobody dequeued it). */
export function stillQueuedBy(db: Database, path: string, broker: Broker): boolean {
  return db.get(
    "SELECT 1 AS x FROM worktrees WHERE path = ? AND queued_at IS NOT NULL AND queued_broker_pid = ?",
    path,
    broker.pid,
  ) !== undefined;
}

/** Paths queued by the broker with pid `pid` (used by `run --detach` to see its child's plan). */
export function queuedByPid(db: Database, pid: number): string[] {
  return db.all<{ path: string }>(
    "SELECT path FROM worktrees WHERE queued_broker_pid = ? AND queued_at IS NOT NULL",
    pid,
  ).map((row) => row.path);
}
