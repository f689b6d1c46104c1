import type { Database } from "./database.ts";
import type { RunRow, RunStatus } from "./types.ts";
import { nowIso } from "../time.ts";
import { isSameProcessAlive } from "../process_identity.ts";

export function getRun(db: Database, id: number): RunRow | undefined {
  return db.get<RunRow>("SELECT * FROM runs WHERE id = ?", id);
}

/** The newest run of a target (by id), whatever its status. */
export function latestRun(db: Database, target: string): RunRow | undefined {
  return db.get<RunRow>("SELECT * FROM runs WHERE worktree = ? ORDER BY id DESC LIMIT 1", target);
}

export function runningRuns(db: Database): RunRow[] {
  return db.all<RunRow>("SELECT * FROM runs WHERE status = 'running' ORDER BY id");
}

/** True when the broker process that owns `run` is still alive (pid and start time match). */
export function brokerAlive(run: RunRow): boolean {
  return isSameProcessAlive(run.broker_pid, run.broker_start);
}

/**
 * The id AUTOINCREMENT would give (above every id ever used, deleted ones included), raised above
 * `floor`. An explicit id above the sequence also moves the sequence on.
 */
function _nextRunId(db: Database, floor: number): number {
  const hasSequence = db.get(
    "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'",
  ) !== undefined;
  const seq = hasSequence
    ? db.get<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'runs'")?.seq ?? 0
    : 0;
  const max = db.get<{ id: number | null }>("SELECT MAX(id) AS id FROM runs")?.id ?? 0;
  return Math.max(floor, Number(seq), Number(max)) + 1;
}

export class TargetBusyError extends Error {
  constructor(readonly run: RunRow) {
    super(`run ${run.id} is already running on ${run.worktree} (broker pid ${run.broker_pid})`);
  }
}

/**
 * Creates a `running` run for `target` owned by this broker, atomically refusing when another
 * live broker already runs that target (one run per target). A `running` run whose broker is gone
 * is not a lock holder; it is left for {@link recoverOrphans}.
 *
 * The new id is above `idsAbove` (the highest run id that already has a log directory): a
 * database replaced by a new one (`cmcs init` after moving a damaged one aside) or restored from
 * an older copy would otherwise count from where it stood and hand out ids whose logs exist.
 */
export function createRun(
  db: Database,
  target: string,
  broker: { pid: number; start: string | null },
  options: Record<string, unknown> = {},
  idsAbove = 0,
): RunRow {
  return db.transaction(() => {
    for (
      const other of db.all<RunRow>(
        "SELECT * FROM runs WHERE worktree = ? AND status = 'running'",
        target,
      )
    ) {
      if (brokerAlive(other)) throw new TargetBusyError(other);
    }
    const id = db.run(
      `INSERT INTO runs (id, worktree, started_at, status, broker_pid, broker_start, options)
       VALUES (?, ?, ?, 'running', ?, ?, ?)`,
      idsAbove > 0 ? _nextRunId(db, idsAbove) : null,
      target,
      nowIso(),
      broker.pid,
      broker.start,
      JSON.stringify(options),
    ).lastInsertRowid;
    return getRun(db, id)!;
  });
}

/**
 * Moves a run from `running` to a terminal status. The first terminal status wins: returns false
 * (and changes nothing) when the run had already ended.
 */
export function finishRun(
  db: Database,
  id: number,
  status: RunStatus,
  message: string | null = null,
): boolean {
  return db.run(
    `UPDATE runs SET status = ?, finished_at = ?, message = COALESCE(?, message), worker_pid = NULL,
       current_ticket = NULL WHERE id = ? AND status = 'running'`,
    status,
    nowIso(),
    message,
    id,
  ).changes > 0;
}

/** Replaces a run's message (recovery adds what it did to an interrupted run). */
export function setRunMessage(db: Database, id: number, message: string): void {
  db.run("UPDATE runs SET message = ? WHERE id = ?", message, id);
}

export function setRunWorker(
  db: Database,
  id: number,
  workerPid: number | null,
  ticket: string | null,
): void {
  db.run("UPDATE runs SET worker_pid = ?, current_ticket = ? WHERE id = ?", workerPid, ticket, id);
}

/** Asks the broker of a run to stop; the broker also polls this column between and during tickets. */
export function requestStop(db: Database, id: number): void {
  db.run(
    "UPDATE runs SET stop_requested_at = COALESCE(stop_requested_at, ?) WHERE id = ?",
    nowIso(),
    id,
  );
}

/** The `running` runs of `target`, newest first (a dead broker's run stays `running` until recovery). */
export function runningRunsOf(db: Database, target: string): RunRow[] {
  return db.all<RunRow>(
    "SELECT * FROM runs WHERE worktree = ? AND status = 'running' ORDER BY id DESC",
    target,
  );
}

/** The newest run of `target` that the broker with pid `pid` created, if it created one yet. */
export function latestRunOfBroker(
  db: Database,
  target: string,
  pid: number,
): Pick<RunRow, "id" | "status"> | undefined {
  return db.get<Pick<RunRow, "id" | "status">>(
    "SELECT id, status FROM runs WHERE worktree = ? AND broker_pid = ? ORDER BY id DESC LIMIT 1",
    target,
    pid,
  );
}

/** When the oldest `running` run started; null when nothing runs. */
export function oldestRunningStart(db: Database): string | null {
  return db.get<{ started: string | null }>(
    "SELECT MIN(started_at) AS started FROM runs WHERE status = 'running'",
  )?.started ?? null;
}

/** How many runs of `target` are newer than run `id` (its offset in the target's history). */
export function newerRunCount(db: Database, target: string, id: number): number {
  return Number(
    db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM runs WHERE worktree = ? AND id > ?",
      target,
      id,
    )?.n ?? 0,
  );
}
