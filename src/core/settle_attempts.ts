/**
 * Finishing what a dead broker left half done in an attempt, so that the database, git and the
 * ticket files agree again and no ticket's work is lost or skipped. Called by recovery for a run
 * it has just marked interrupted (so one process settles each run).
 *
 * - A commit was pending (`commit_pending`): the commit carrying the attempt's `Cmcs-Attempt`
 *   trailer is looked for and recorded; if git never made it, the recorded paths are committed
 *   now with the recorded message. `cmcs diff` and `cmcs result` then show it.
 * - The attempt was still open (the broker died before judging the worker's exit): it is closed
 *   `worker_failed`, and a ticket the worker had set `done: true` is set back to `done: false`
 *   with a warning, since nobody checked or committed its work: the next run does it again and
 *   takes the files left behind as that ticket's work (carry-over).
 */
import { addAttemptWarning, closeAttempt, setAttemptChanges } from "./db/attempts.ts";
import type { Database } from "./db/database.ts";
import { recordEvent } from "./db/events.ts";
import type { AttemptRow, CommitIntent, Outcome, RunRow } from "./db/types.ts";
import { git } from "./git.ts";
import {
  attemptChanges,
  commitPaths,
  diffBetween,
  diffWorkingTree,
  findAttemptCommit,
  treeState,
} from "./git_changes.ts";
import { withoutBrokerFiles } from "./broker_files.ts";
import { parseTicket, setTicketDone } from "./tickets.ts";
import { defaultConfig } from "./config_schema.ts";
import { loadConfig } from "./config.ts";
import { dirname } from "./path.ts";
import { projectAt } from "./project.ts";

/** Settles every half-done attempt of `run`; returns one line per thing done, for the run's message. */
export async function settleAttempts(
  db: Database,
  run: RunRow,
  attempts: AttemptRow[],
): Promise<string[]> {
  const notes: string[] = [];
  for (const attempt of attempts) {
    try {
      notes.push(...await settleAttempt(db, run, attempt));
    } catch (error) {
      notes.push(`${attempt.ticket}: could not finish its attempt: ${(error as Error).message}`);
    }
  }
  return notes;
}

async function settleAttempt(db: Database, run: RunRow, attempt: AttemptRow): Promise<string[]> {
  const notes: string[] = [];
  const note = (message: string) => {
    addAttemptWarning(db, attempt.id, message);
    recordEvent(db, {
      runId: run.id,
      event: "warning",
      ticket: attempt.ticket,
      attemptId: attempt.id,
      message,
    });
    notes.push(`${attempt.ticket}: ${message}`);
  };
  const target = run.worktree;
  if (attempt.outcome === null) {
    closeAttempt(db, attempt.id, "worker_failed", "interrupted: the broker died");
  }
  const intent = parseIntent(attempt.commit_pending);
  let failed: { outcome: Outcome; message: string } | undefined;
  if (intent) {
    await indexUnlocked(target);
    const found = await findAttemptCommit(target, run.id, attempt.id, attempt.commit_before);
    let commit = found;
    let error: string | null = null;
    if (!commit) {
      const tree = await treeState(target);
      if (tree.ok === false) {
        error = tree.error ?? "git status failed";
      } else {
        const dirty = new Set(tree.paths);
        // Bounded like the broker's own commit: a hook that hangs must not hold the command that
        // happens to run recovery (`cmcs status` on the next prompt) past git.timeout_s.
        const result = await commitPaths(
          target,
          intent.paths.filter((path) => dirty.has(path)),
          intent.message,
          { timeoutS: await gitTimeoutS(db) },
        );
        commit = result.commit;
        error = result.error ?? (commit ? null : "its files are no longer uncommitted");
      }
    }
    if (commit) {
      setAttemptChanges(db, attempt.id, {
        commitAfter: commit,
        files: await diffBetween(target, attempt.commit_before, commit),
      });
      recordEvent(db, {
        runId: run.id,
        event: "committed",
        ticket: attempt.ticket,
        attemptId: attempt.id,
        message: commit,
      });
      note(
        found
          ? `the broker died after committing ${commit.slice(0, 12)}; the commit is now recorded`
          : `the broker died before committing; the ticket's work is now committed as ${
            commit.slice(0, 12)
          }`,
      );
      return notes;
    }
    note(`the broker died before committing, and committing now failed: ${error}`);
    // As when the broker's own commit fails: the attempt is no longer `done` (nothing awaits
    // review), and the next attempt at the ticket takes its files as the ticket's work.
    failed = {
      outcome: "commit_failed",
      message: `auto-commit failed, changes left uncommitted: ${error}`,
    };
  }
  if (await reopenTicket(attempt)) {
    note(
      `${attempt.ticket} was marked done but the broker died before committing its work: ` +
        "set back to done: false, so the next run does it again (its files stay as they are)",
    );
  }
  await recordWorkingTreeChanges(db, target, attempt, failed);
  return notes;
}

/**
 * The project's `git.timeout_s`, from the config beside the database. Recovery runs inside
 * whatever command came next, whose own config may not have been read, and it must finish even
 * when the file is broken: then (and without one) the default.
 */
async function gitTimeoutS(db: Database): Promise<number> {
  try {
    const { config } = await loadConfig(projectAt(dirname(dirname(db.path)), true));
    return config.git.timeout_s;
  } catch {
    return defaultConfig().git.timeout_s;
  }
}

/** Sets the attempt's ticket back to `done: false`; true when it was done and now is not. */
async function reopenTicket(attempt: AttemptRow): Promise<boolean> {
  const path = attempt.ticket_path;
  if (!path) return false;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    return false;
  }
  const entry = parseTicket(path, bytes);
  if (!entry.ok || !entry.ticket.done) return false;
  await setTicketDone(path, false);
  return true;
}

/**
 * Records the files the attempt left uncommitted, told apart from older edits by the content
 * hashes taken before it started: they are the ticket's pending work, which the next attempt at
 * the ticket commits along with its own (see `uncommittedAttemptPaths`).
 */
async function recordWorkingTreeChanges(
  db: Database,
  target: string,
  attempt: AttemptRow,
  outcome?: { outcome: Outcome; message: string },
): Promise<void> {
  let before: Map<string, string> | null = null;
  try {
    if (attempt.dirty_before && attempt.ticket_path) {
      before = new Map(Object.entries(JSON.parse(attempt.dirty_before)));
    }
  } catch { /* unreadable: no files can be told apart from earlier edits */ }
  if (!before) {
    if (outcome) setAttemptChanges(db, attempt.id, { commitAfter: null, files: [], outcome });
    return;
  }
  const changes = withoutBrokerFiles(await attemptChanges(target, before), target, {
    path: attempt.ticket_path!,
  });
  setAttemptChanges(db, attempt.id, {
    commitAfter: null,
    files: await diffWorkingTree(target, attempt.commit_before, changes.paths),
    outcome,
  });
}

/** How long recovery waits for a git commit the dead broker started to finish. */
const INDEX_LOCK_WAIT_MS = 10_000;

/**
 * Waits (bounded) while `.git/index.lock` exists: the broker runs `git commit` in a session of
 * its own, so the commit it started may still be finishing after the broker died. Looking for it
 * before it is made would commit the same paths a second time (or fail on the lock).
 */
async function indexUnlocked(target: string): Promise<void> {
  const out = await git(target, [
    "rev-parse",
    "--path-format=absolute",
    "--git-path",
    "index.lock",
  ]);
  const lock = out.stdout.trim();
  if (out.code !== 0 || !lock) return;
  const deadline = Date.now() + INDEX_LOCK_WAIT_MS;
  while (Date.now() < deadline) {
    try {
      await Deno.lstat(lock);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function parseIntent(json: string | null | undefined): CommitIntent | null {
  if (!json) return null;
  try {
    const value = JSON.parse(json);
    return Array.isArray(value?.paths) && Array.isArray(value?.message) ? value : null;
  } catch {
    return null;
  }
}
