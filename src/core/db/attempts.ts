import type { Database } from "./database.ts";
import type {
  AttemptKind,
  AttemptRow,
  CommitIntent,
  FileChange,
  Outcome,
  TokenUsage,
} from "./types.ts";
import { nowIso, secondsBetween } from "../time.ts";

export interface NewAttempt {
  runId: number;
  ticket: string;
  title: string | null;
  kind: AttemptKind;
  model: string | null;
  reasoningEffort: string | null;
  commitBefore: string | null;
  logDir: string;
}

/** Opens an attempt (outcome null until {@link finishAttempt}); numbers attempts per run and ticket. */
export function startAttempt(db: Database, a: NewAttempt): AttemptRow {
  return db.transaction(() => {
    const number = (db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM attempts WHERE run_id = ? AND ticket = ?",
      a.runId,
      a.ticket,
    )?.n ?? 0) + 1;
    const id = db.run(
      `INSERT INTO attempts (run_id, ticket, title, number, kind, model, reasoning_effort, started_at, commit_before, log_dir)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      a.runId,
      a.ticket,
      a.title,
      number,
      a.kind,
      a.model,
      a.reasoningEffort,
      nowIso(),
      a.commitBefore,
      a.logDir,
    ).lastInsertRowid;
    return getAttempt(db, id)!;
  });
}

/**
 * Records where an attempt keeps its files and what recovery needs should its broker die: the
 * ticket file and the content hashes of the edits that were uncommitted before it started.
 */
export function setAttemptSetup(
  db: Database,
  id: number,
  setup: { logDir: string; ticketPath: string; dirtyBefore: Map<string, string> | null },
): void {
  db.run(
    "UPDATE attempts SET log_dir = ?, ticket_path = ?, dirty_before = ? WHERE id = ?",
    setup.logDir,
    setup.ticketPath,
    setup.dirtyBefore ? JSON.stringify(Object.fromEntries(setup.dirtyBefore)) : null,
    id,
  );
}

export function getAttempt(db: Database, id: number): AttemptRow | undefined {
  return db.get<AttemptRow>("SELECT * FROM attempts WHERE id = ?", id);
}

export function setAttemptWorker(
  db: Database,
  id: number,
  worker: { pid: number; start: string | null; token: string },
): void {
  db.run(
    "UPDATE attempts SET worker_pid = ?, worker_start = ?, process_token = ? WHERE id = ?",
    worker.pid,
    worker.start,
    worker.token,
    id,
  );
}

/** Facts learned from the worker's stream while it runs (thread id as soon as it is known). */
export function setAttemptThread(db: Database, id: number, threadId: string): void {
  db.run("UPDATE attempts SET thread_id = ? WHERE id = ?", threadId, id);
}

export interface AttemptResult {
  outcome: Outcome;
  message: string | null;
  exitCode: number | null;
  signal: string | null;
  threadId: string | null;
  usage: TokenUsage | null;
  finalMessage: string | null;
  resetsAt: string | null;
  /**
   * The auto-commit about to be made, recorded in the same write as the outcome: a broker that
   * dies between the two leaves it for recovery to find or make (see `commit_pending`).
   */
  commitIntent?: CommitIntent | null;
  /** The attempt's `started_at` when the caller holds it (the runner does): saves reading the row. */
  startedAt?: string;
}

/** Closes an attempt with its outcome; only an attempt still open is changed. */
export function finishAttempt(db: Database, id: number, r: AttemptResult): void {
  const startedAt = r.startedAt ?? getAttempt(db, id)?.started_at;
  if (startedAt === undefined) return;
  const finished = nowIso();
  db.run(
    `UPDATE attempts SET finished_at = ?, duration_s = ?, outcome = ?, message = ?, exit_code = ?, signal = ?,
       thread_id = COALESCE(?, thread_id), input_tokens = ?, cached_input_tokens = ?, output_tokens = ?,
       reasoning_output_tokens = ?, final_message = ?, resets_at = ?, commit_pending = ?
     WHERE id = ? AND outcome IS NULL`,
    finished,
    Math.round(secondsBetween(startedAt, finished) * 1000) / 1000,
    r.outcome,
    r.message,
    r.exitCode,
    r.signal,
    r.threadId,
    r.usage?.input_tokens ?? null,
    r.usage?.cached_input_tokens ?? null,
    r.usage?.output_tokens ?? null,
    r.usage?.reasoning_output_tokens ?? null,
    r.finalMessage,
    r.resetsAt,
    r.commitIntent ? JSON.stringify(r.commitIntent) : null,
    id,
  );
}

/**
 * Closes an attempt that ended without a worker result to record: its broker died, or it was
 * stopped from another process. Only the outcome and message are set (exit code, usage and the
 * rest stay null); an attempt already closed is left as it is.
 */
export function closeAttempt(db: Database, id: number, outcome: Outcome, message: string): void {
  finishAttempt(db, id, {
    outcome,
    message,
    exitCode: null,
    signal: null,
    threadId: null,
    usage: null,
    finalMessage: null,
    resetsAt: null,
  });
}

/**
 * Records what the attempt changed in git (set after auto-commit, or from the working tree); the
 * commit is no longer pending then.
 */
export function setAttemptChanges(
  db: Database,
  id: number,
  changes: {
    commitAfter: string | null;
    files: FileChange[];
    /** A new outcome decided by the commit (`commit_failed`), written in the same statement. */
    outcome?: { outcome: Outcome; message: string };
  },
): void {
  db.run(
    `UPDATE attempts SET commit_after = ?, files_changed = ?, commit_pending = NULL,
       outcome = COALESCE(?, outcome), message = COALESCE(?, message) WHERE id = ?`,
    changes.commitAfter,
    JSON.stringify(changes.files),
    changes.outcome?.outcome ?? null,
    changes.outcome?.message ?? null,
    id,
  );
}

/** Appends a warning (e.g. a failed auto-commit) to the attempt's JSON list. */
export function addAttemptWarning(db: Database, id: number, warning: string): void {
  db.transaction(() => {
    const row = getAttempt(db, id);
    const list: string[] = row?.warnings ? JSON.parse(row.warnings) : [];
    list.push(warning);
    db.run("UPDATE attempts SET warnings = ? WHERE id = ?", JSON.stringify(list), id);
  });
}

export function runAttempts(db: Database, runId: number): AttemptRow[] {
  return db.all<AttemptRow>("SELECT * FROM attempts WHERE run_id = ? ORDER BY id", runId);
}

/**
 * Attempts of a run that a broker left half done: still open, or with their auto-commit pending.
 * A broker always settles its attempts before it ends the run, so in a run whose broker is gone
 * these are what recovery has to finish.
 */
export function unsettledAttempts(db: Database, runId: number): AttemptRow[] {
  return db.all<AttemptRow>(
    `SELECT * FROM attempts WHERE run_id = ? AND (outcome IS NULL OR commit_pending IS NOT NULL)
     ORDER BY id`,
    runId,
  );
}

/** Attempts still open (no outcome) in a run: what a dead broker left behind. */
export function openAttempts(db: Database, runId: number): AttemptRow[] {
  return db.all<AttemptRow>(
    "SELECT * FROM attempts WHERE run_id = ? AND outcome IS NULL ORDER BY id",
    runId,
  );
}

/** The newest attempt of a run (the one a live log follows), if any. */
export function latestAttempt(db: Database, runId: number): AttemptRow | undefined {
  return db.get<AttemptRow>(
    "SELECT * FROM attempts WHERE run_id = ? ORDER BY id DESC LIMIT 1",
    runId,
  );
}

/** Attempt `id` when it belongs to run `runId`; undefined otherwise (an id from another run). */
export function runAttempt(db: Database, runId: number, id: number): AttemptRow | undefined {
  return db.get<AttemptRow>("SELECT * FROM attempts WHERE id = ? AND run_id = ?", id, runId);
}

/** Every attempt of `ticket` on `target`, across its runs, oldest first. */
export function targetTicketAttempts(db: Database, target: string, ticket: string): AttemptRow[] {
  return db.all<AttemptRow>(
    `SELECT a.* FROM attempts a JOIN runs r ON r.id = a.run_id
     WHERE r.worktree = ? AND a.ticket = ? ORDER BY a.id`,
    target,
    ticket,
  );
}

/** The tickets that ever ran on `target`, the most recently attempted first. */
export function ticketsRunOn(db: Database, target: string): string[] {
  return db.all<{ ticket: string }>(
    "SELECT ticket FROM latest_attempts WHERE target = ? ORDER BY attempt_id DESC",
    target,
  ).map((row) => row.ticket);
}

/** Token sums of every attempt of a run; a run without attempts sums to zeros. */
export function runTokenSums(
  db: Database,
  runId: number,
): { input: number; cached: number; output: number; reasoning: number } {
  const row = db.get<{ input: number; cached: number; output: number; reasoning: number }>(
    `SELECT COALESCE(SUM(input_tokens), 0) AS input, COALESCE(SUM(cached_input_tokens), 0) AS cached,
       COALESCE(SUM(output_tokens), 0) AS output, COALESCE(SUM(reasoning_output_tokens), 0) AS reasoning
     FROM attempts WHERE run_id = ?`,
    runId,
  );
  return {
    input: Number(row?.input ?? 0),
    cached: Number(row?.cached ?? 0),
    output: Number(row?.output ?? 0),
    reasoning: Number(row?.reasoning ?? 0),
  };
}
