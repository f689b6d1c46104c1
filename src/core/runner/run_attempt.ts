import { join, relative } from "../path.ts";
import type { Config } from "../config.ts";
import type { Database } from "../db/database.ts";
import {
  addAttemptWarning,
  finishAttempt,
  getAttempt,
  setAttemptChanges,
  setAttemptSetup,
  setAttemptThread,
  setAttemptWorker,
  startAttempt,
} from "../db/attempts.ts";
import { setRunWorker } from "../db/runs.ts";
import type { AttemptKind, AttemptRow, CommitIntent, FileChange, Outcome } from "../db/types.ts";
import {
  attemptChanges,
  attemptTrailer,
  commitPaths,
  type CommitResult,
  diffBetween,
  diffWorkingTree,
  snapshotBefore,
  type TreeLook,
  type TreeState,
  treeState,
} from "../git_changes.ts";
import { withoutBrokerFiles } from "../broker_files.ts";
import { headCommit } from "../git.ts";
import { withoutBrokerOutputs } from "../broker_outputs.ts";
import { type AttemptObservation, decideOutcome, type TicketAfter } from "../outcome.ts";
import type { Project } from "../project.ts";
import { parseTicket, setTicketDone, type Ticket } from "../tickets.ts";
import { buildCodexArgs } from "./codex_command.ts";
import { crashPoint } from "./crash_point.ts";
import { ATTEMPT_FILES, executeWorker } from "./execute_worker.ts";
import type { Journal } from "./journal.ts";
import type { StopController } from "./stop_control.ts";
import { sumTokens } from "../tokens.ts";

export interface AttemptContext {
  db: Database;
  project: Project;
  config: Config;
  target: string;
  runId: number;
  stop: StopController;
  /** Where the attempt's facts go (the database's events, the terminal, the hooks). */
  journal: Journal;
  /** Reads the run's stop request from the database now (instead of at the next poll). */
  checkStop?: () => void;
}

export interface AttemptRequest {
  ticket: Ticket;
  kind: AttemptKind;
  model: string | null;
  effort: string | null;
  prompt: string;
  resumeThreadId?: string | null;
  /**
   * Paths earlier attempts at this ticket changed and left uncommitted (`cmcs resume` after an
   * attempt that did not end done): they count as this attempt's work, so its auto-commit takes
   * them, instead of being left alone as edits that predate the attempt.
   */
  carryOver?: string[];
  /**
   * The look at the working tree the previous attempt ended with, to start from instead of a
   * `git status` of this attempt's own when git has not changed since (see `snapshotBefore`).
   * Never one from before a wait.
   */
  look?: Promise<TreeLook | null> | TreeLook | null;
}

export interface AttemptOutcome {
  attempt: AttemptRow;
  outcome: Outcome;
  message: string | null;
  /** A failure that may go away on its own (5xx, dropped stream): worth a retry. */
  transient: boolean;
  /**
   * The working tree as this attempt left it, for the next attempt's `look` (possibly still being
   * taken); null when unknown.
   */
  look: Promise<TreeLook | null> | TreeLook | null;
}

/**
 * Makes one attempt at a ticket and records everything about it: the attempt row (opened before
 * the worker starts, closed with one outcome), its facts (`attempt_started`, `warning`,
 * `committed`, `attempt_finished`) in the journal, the worker's files, the auto-commit and the
 * files the attempt changed.
 */
export async function runAttempt(
  ctx: AttemptContext,
  req: AttemptRequest,
): Promise<AttemptOutcome> {
  const { db, target, runId, config, ticket } = { ...ctx, ticket: req.ticket };
  const isGit = ctx.project.isGit;
  const before = isGit ? await snapshotBefore(target, req.look) : null;
  const commitBefore = before?.head ?? null;
  const dirtyBefore = before?.dirty ?? new Map<string, string>();
  for (const path of req.carryOver ?? []) dirtyBefore.delete(path);

  // The attempt's row, its setup, the run's current ticket and the `attempt_started` event are
  // written together: one SQLite transaction instead of four (each costs a write of its own).
  const opened = db.transaction(() => {
    const row = startAttempt(db, {
      runId,
      ticket: ticket.id,
      title: ticket.title || null,
      kind: req.kind,
      model: req.model,
      reasoningEffort: req.effort,
      commitBefore,
      logDir: "",
    });
    setAttemptSetup(db, row.id, {
      logDir: `${runId}/${ticket.id}.${row.number}`,
      ticketPath: ticket.path,
      dirtyBefore: isGit ? dirtyBefore : null,
    });
    setRunWorker(db, runId, null, ticket.file);
    ctx.journal.emit({
      kind: "attempt_started",
      runId,
      target,
      ticket: ticket.id,
      file: ticket.file,
      attemptId: row.id,
      title: ticket.title,
      number: row.number,
      attemptKind: req.kind,
      model: req.model,
      effort: req.effort,
    });
    return row;
  });
  const logDir = join(ctx.project.logsDir, `${runId}/${ticket.id}.${opened.number}`);

  const timeoutS = ticket.timeout_s ?? config.codex.timeout_s;
  let early: Promise<TreeState> | null = null;
  // A `cmcs stop` that arrived while the working tree was looked at (the run's poll is slower).
  ctx.checkStop?.();
  crashPoint("before-spawn");
  const execution = await executeWorker({
    command: config.codex.command,
    args: buildCodexArgs(config.codex, {
      target,
      model: req.model,
      effort: req.effort,
      lastMessageFile: join(logDir, ATTEMPT_FILES.lastMessage),
      resumeThreadId: req.resumeThreadId,
    }),
    cwd: target,
    prompt: req.prompt,
    logDir,
    env: { CMCS_RUN_ID: String(runId), CMCS_TICKET: ticket.file, CMCS_TARGET: target },
    timeoutS,
    idleTimeoutS: config.codex.idle_timeout_s,
    graceS: config.codex.stop_grace_s,
    runStop: ctx.stop,
    // Without a look at the tree before it, the attempt's changes could not be told from the
    // edits that predate it (and an auto-commit would take those too): no worker is started.
    refuse: before?.failure
      ? `cannot look at the working tree before the worker: ${before.failure}`
      : undefined,
    onSpawn: (worker) =>
      db.transaction(() => {
        setAttemptWorker(db, opened.id, worker);
        setRunWorker(db, runId, worker.pid, ticket.file);
      }),
    onEvent: (stream, event) => {
      if (event.type === "thread.started" && stream.threadId) {
        setAttemptThread(db, opened.id, stream.threadId);
        crashPoint("worker-running");
      }
    },
    // The working tree is looked at beside the search for the worker's leftovers; the look is
    // dropped below when something of the attempt ran on after it started.
    onExit: () => {
      if (isGit) early = treeState(target);
    },
  });
  crashPoint("after-worker");

  const { stream } = execution;
  // The ticket is read once after the worker: its outcome and its re-opening both go by it.
  const ticketAfter = execution.spawnError ? null : await rereadTicket(ticket.path);
  const observed: AttemptObservation = {
    spawnError: execution.spawnError,
    stop: execution.stopReason
      ? { reason: execution.stopReason, message: execution.stopMessage }
      : null,
    exitCode: execution.exitCode,
    signal: execution.signal,
    stream,
    stderrTail: execution.stderrTail,
    ticketFile: ticket.file,
    ticketAfter,
    commitFailure: null,
  };
  let { outcome, message, transient, resetsAt } = decideOutcome(observed);
  for (const problem of execution.problems) warn(ctx, opened.id, ticket, problem);
  if (execution.survivors.length > 0) {
    addAttemptWarning(
      db,
      opened.id,
      `processes still alive after stopping the worker: ${execution.survivors.join(", ")}`,
    );
  }

  let reopened = false;
  if (outcome !== "done" && ticketAfter?.state === "done") {
    await reopenClaimedTicket(ctx, opened.id, ticket, outcome);
    reopened = true;
  }

  // The look started at the worker's exit stands only when nothing wrote to the tree after it.
  const usable = early !== null && !execution.leftovers && !reopened ? early : undefined;
  if (early && !usable) (early as Promise<TreeState>).catch(() => {});
  const planned = isGit && !execution.spawnError
    ? await planChanges(ctx, opened, ticket, outcome, dirtyBefore, usable)
    : null;
  if (planned?.lookFailure) {
    // Never "done, nothing changed" when nobody could look: with auto-commit on, the commit could
    // not be made (the ticket is re-opened and its next attempt takes the files); off, it says so.
    const unknown = `the working tree could not be looked at after the worker ` +
      `(${planned.lookFailure}): what the attempt changed is unknown`;
    if (outcome === "done" && (ticket.auto_commit ?? config.codex.auto_commit)) {
      ({ outcome, message, transient, resetsAt } = decideOutcome({
        ...observed,
        commitFailure: `auto-commit failed, changes left uncommitted: ${unknown}`,
      }));
      if (!reopened) await reopenClaimedTicket(ctx, opened.id, ticket, outcome);
    } else {
      warn(ctx, opened.id, ticket, unknown);
    }
  }
  // Without a commit to make, the line counts of the changed files are read (a `git diff`) while
  // the outcome is being written.
  const counted = planned && !planned.intent && !planned.lookFailure
    ? diffWorkingTree(target, commitBefore, planned.changes.paths)
    : undefined;
  // The outcome and the commit about to be made are one write: a broker that dies after it
  // leaves recovery the paths and the message to look for or to commit (src/core/recovery.ts).
  // The run's worker is cleared in the same transaction.
  db.transaction(() => {
    setRunWorker(db, runId, null, ticket.file);
    finishAttempt(db, opened.id, {
      outcome,
      message,
      exitCode: execution.exitCode,
      signal: execution.signal,
      threadId: stream.threadId,
      usage: stream.usage,
      finalMessage: stream.finalMessage,
      resetsAt,
      commitIntent: planned?.intent ?? null,
      startedAt: opened.started_at,
    });
  });

  let commit: string | null = null;
  let look: Promise<TreeLook | null> | TreeLook | null = null;
  let record: ChangesRecord | null = null;
  if (planned) {
    const recorded = await recordChanges(ctx, opened.id, ticket, planned, commitBefore, counted);
    commit = recorded.commit;
    look = recorded.look;
    record = recorded.record;
    if (recorded.failure) {
      ({ outcome, message, transient, resetsAt } = decideOutcome({
        ...observed,
        commitFailure: recorded.failure,
      }));
    }
  }

  // What the attempt changed (which also marks its commit no longer pending), the `committed`
  // and `attempt_finished` events: one transaction.
  const attempt = db.transaction(() => {
    if (record) setAttemptChanges(db, opened.id, record);
    if (commit) {
      ctx.journal.emit({
        kind: "committed",
        runId,
        target,
        ticket: ticket.id,
        file: ticket.file,
        attemptId: opened.id,
        commit,
      });
    }
    const row = getAttempt(db, opened.id)!;
    ctx.journal.emit({
      kind: "attempt_finished",
      runId,
      target,
      ticket: ticket.id,
      file: ticket.file,
      attemptId: opened.id,
      model: req.model,
      outcome,
      message,
      exitCode: execution.exitCode,
      durationS: row.duration_s,
      tokens: stream.usage ? sumTokens([stream.usage]).total : null,
      commit,
      warnings: row.warnings ? JSON.parse(row.warnings) : [],
    });
    return row;
  });
  writeSummary(join(logDir, ATTEMPT_FILES.summary), attempt, logDir);
  return { attempt, outcome, message, transient, look };
}

/**
 * A worker may set `done: true` and then fail, time out, stall or be stopped before its turn ends.
 * The ticket is not done then (nothing checked the work, nothing was committed), and a `done: true`
 * left in the file would make the next run skip it as finished: it is set back to `false`, with a
 * warning. The rest of the worker's edit (its `## Progress` notes) stays for the next attempt.
 */
async function reopenClaimedTicket(
  ctx: AttemptContext,
  attemptId: number,
  ticket: Ticket,
  outcome: Outcome,
): Promise<void> {
  const claim = `${ticket.file} was marked done, but the attempt ended ${outcome}`;
  try {
    await setTicketDone(ticket.path, false);
    warn(
      ctx,
      attemptId,
      ticket,
      `${claim}: set back to done: false, so the next run tries it again`,
    );
  } catch (error) {
    warn(
      ctx,
      attemptId,
      ticket,
      `${claim}, and setting it back to done: false failed: ${(error as Error).message}`,
    );
  }
}

/** The ticket file as it is now: done, still open, gone, or malformed (its first problem). */
async function rereadTicket(path: string): Promise<TicketAfter> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    return { state: "gone", path };
  }
  const entry = parseTicket(path, bytes);
  if (!entry.ok) {
    const p = entry.problems[0];
    return { state: "malformed", file: entry.file, line: p.line, problem: p.message };
  }
  return { state: entry.ticket.done ? "done" : "open" };
}

/** What an attempt changed, and the auto-commit to make of it (null when there is none). */
interface PlannedChanges {
  changes: {
    paths: string[];
    touchedPreexisting: string[];
    head: string | null;
    untracked: string[];
    /** The same look, for the next attempt. */
    look: TreeLook;
  };
  intent: CommitIntent | null;
  /** Why the look after the worker failed: what the attempt changed is unknown then. */
  lookFailure: string | null;
}

/**
 * Looks at what the attempt changed (never cmcs's database or logs, never edits that were already
 * uncommitted before the attempt) and, for a done ticket with auto-commit on, plans the commit:
 * its paths and its message, which ends with the `Cmcs-Attempt: <run>/<attempt>` trailer so a
 * commit made by a broker that died before recording it can be found.
 */
async function planChanges(
  ctx: AttemptContext,
  attempt: AttemptRow,
  ticket: Ticket,
  outcome: Outcome,
  dirtyBefore: Map<string, string>,
  state?: Promise<TreeState>,
): Promise<PlannedChanges> {
  const { target, runId } = ctx;
  const seen = await attemptChanges(target, dirtyBefore, state);
  const changes = {
    ...await withoutBrokerOutputs(target, withoutBrokerFiles(seen, target, ticket)),
    look: seen.look,
  };
  const autoCommit = ticket.auto_commit ?? ctx.config.codex.auto_commit;
  if (seen.failure) return { changes, intent: null, lookFailure: seen.failure };
  if (outcome !== "done" || !autoCommit || changes.paths.length === 0) {
    return { changes, intent: null, lookFailure: null };
  }
  const ticketPath = relative(target, ticket.path);
  const unrelated = changes.touchedPreexisting.filter((path) => path !== ticketPath);
  if (unrelated.length > 0) {
    warn(
      ctx,
      attempt.id,
      ticket,
      `committed files that had uncommitted edits before the ticket ran: ${
        changes.touchedPreexisting.join(", ")
      }`,
    );
  }
  let title = ticket.title ?? "";
  if (title.includes("\0")) {
    title = title.replaceAll("\0", "");
    warn(
      ctx,
      attempt.id,
      ticket,
      `the title of ${ticket.file} holds NUL bytes: left out of the commit message`,
    );
  }
  const message = [
    `${ticket.id}${title ? `: ${title}` : ""}`,
    `Committed by cmcs: run ${runId}, attempt ${attempt.number}${
      attempt.model ? `, model ${attempt.model}` : ""
    }.`,
    attemptTrailer(runId, attempt.id),
  ];
  return { changes, intent: { paths: changes.paths, message }, lookFailure: null };
}

/**
 * Makes the planned auto-commit and finds the files the attempt changed, for the caller to record
 * (which also marks the commit no longer pending). A commit that fails (a hook refused it, hung past `git.timeout_s`, a
 * stop ended it) turns a `done` attempt into `commit_failed`, recorded in the same write, and
 * re-opens the ticket first: a `done: true` ticket whose work is uncommitted would otherwise be
 * skipped by every later run. Its files stay in the working tree and the next attempt at the
 * ticket commits them with its own. Returns the new commit and the failure, if any, and the
 * look at the working tree the next attempt may start from: the attempt's own look when nothing
 * was committed, one taken right after the commit when one was made, none when a commit failed
 * (the ticket file may have been re-opened since).
 */
async function recordChanges(
  ctx: AttemptContext,
  attemptId: number,
  ticket: Ticket,
  planned: PlannedChanges,
  commitBefore: string | null,
  counted?: Promise<FileChange[]>,
): Promise<
  {
    commit: string | null;
    failure: string | null;
    look: Promise<TreeLook | null> | TreeLook | null;
    record: ChangesRecord;
  }
> {
  const { target } = ctx;
  const { changes, intent } = planned;
  let commit: string | null = null;
  let failure: string | null = null;
  let committed: CommitResult | null = null;
  if (intent) {
    // A hook that hangs is ended after git.timeout_s; a stop gives the commit stop_grace_s more.
    const bound = {
      timeoutS: ctx.config.git.timeout_s,
      signal: ctx.stop.signal,
      patienceS: ctx.config.codex.stop_grace_s,
    };
    crashPoint("before-commit");
    const result = committed = await commitPaths(target, intent.paths, intent.message, bound, {
      untracked: changes.untracked,
      lookAfter: true,
    });
    crashPoint("after-commit");
    if (result.error) {
      failure = `auto-commit failed, changes left uncommitted: ${result.error}`;
      // Read again: the commit's hooks ran since the worker, and may have changed the ticket.
      if ((await rereadTicket(ticket.path)).state === "done") {
        await reopenClaimedTicket(ctx, attemptId, ticket, "commit_failed");
      }
    }
    commit = result.commit;
  }
  // HEAD as the status above saw it, unless a commit was tried and failed (re-read to be sure).
  const currentHead = intent && !commit ? await headCommit(target) : changes.head;
  const files: FileChange[] = commit
    ? committed?.files && committed.parent === commitBefore
      ? committed.files
      : await diffBetween(target, commitBefore, commit)
    : await (counted ?? diffWorkingTree(target, commitBefore, changes.paths));
  if (!commit && currentHead && currentHead !== commitBefore) {
    // The worker committed by itself: its commits are the attempt's change.
    const committed = await diffBetween(target, commitBefore, currentHead);
    const record = {
      commitAfter: currentHead,
      files: mergeChanges(committed, files),
      outcome: failure ? { outcome: "commit_failed" as const, message: failure } : undefined,
    };
    return { commit: null, failure, look: intent ? null : changes.look, record };
  }
  const record = {
    commitAfter: commit,
    files,
    outcome: failure ? { outcome: "commit_failed" as const, message: failure } : undefined,
  };
  return { commit, failure, look: intent ? committed?.look ?? null : changes.look, record };
}

/** What {@link setAttemptChanges} records of an attempt. */
type ChangesRecord = Parameters<typeof setAttemptChanges>[2];

function mergeChanges(a: FileChange[], b: FileChange[]): FileChange[] {
  const byPath = new Map(a.map((c) => [c.path, { ...c }]));
  for (const change of b) {
    const existing = byPath.get(change.path);
    if (!existing) byPath.set(change.path, { ...change });
    else {
      existing.added = existing.added === null || change.added === null
        ? null
        : existing.added + change.added;
      existing.removed = existing.removed === null || change.removed === null
        ? null
        : existing.removed + change.removed;
    }
  }
  return [...byPath.values()];
}

function warn(ctx: AttemptContext, attemptId: number, ticket: Ticket, message: string): void {
  addAttemptWarning(ctx.db, attemptId, message);
  ctx.journal.emit({
    kind: "warning",
    runId: ctx.runId,
    target: ctx.target,
    ticket: ticket.id,
    file: ticket.file,
    attemptId,
    message,
  });
}

function writeSummary(path: string, attempt: AttemptRow, logDir: string): void {
  const summary = {
    run_id: attempt.run_id,
    attempt_id: attempt.id,
    ticket: attempt.ticket,
    title: attempt.title,
    number: attempt.number,
    kind: attempt.kind,
    model: attempt.model,
    reasoning_effort: attempt.reasoning_effort,
    outcome: attempt.outcome,
    message: attempt.message,
    exit_code: attempt.exit_code,
    signal: attempt.signal,
    started_at: attempt.started_at,
    finished_at: attempt.finished_at,
    duration_s: attempt.duration_s,
    thread_id: attempt.thread_id,
    usage: {
      input_tokens: attempt.input_tokens,
      cached_input_tokens: attempt.cached_input_tokens,
      output_tokens: attempt.output_tokens,
      reasoning_output_tokens: attempt.reasoning_output_tokens,
    },
    commit_before: attempt.commit_before,
    commit_after: attempt.commit_after,
    files_changed: attempt.files_changed ? JSON.parse(attempt.files_changed) : [],
    warnings: attempt.warnings ? JSON.parse(attempt.warnings) : [],
    files: Object.fromEntries(Object.entries(ATTEMPT_FILES).map(([k, f]) => [k, join(logDir, f)])),
  };
  // The summary repeats what the database holds: a log directory gone unwritable loses nothing.
  try {
    Deno.writeTextFileSync(path, JSON.stringify(summary, null, 2) + "\n");
  } catch { /* see above */ }
}
