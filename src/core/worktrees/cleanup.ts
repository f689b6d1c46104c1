/**
 * `worktree cleanup`: removes a worktree and its branch — but only after checking, before
 * anything is touched, that nothing would be lost. The earlier tool force-removed the directory
 * first and discovered the unmerged branch afterwards, destroying uncommitted work. "Lost" is
 * decided by reachability (see reachability.ts), not by comparing with a base branch by name, and
 * even `--force` keeps what it discards under a ref of cmcs's own (see save_ref.ts).
 */
import { dirname, join } from "../path.ts";
import { UserError } from "../errors.ts";
import type { Config } from "../config.ts";
import type { Database } from "../db/database.ts";
import { TargetBusyError } from "../db/runs.ts";
import { holdIntact, holdTarget, isHold, releaseHold } from "../db/target_hold.ts";
import type { RunRow, WorktreeRow } from "../db/types.ts";
import { archiveWorktree, listWorktrees } from "../db/worktrees.ts";
import { currentBranch, git } from "../git.ts";
import { uncommittedPaths } from "../git_changes.ts";
import { describeShellResult, runShellCommand, tail } from "../hooks.ts";
import { processStartToken } from "../process_identity.ts";
import { isDirectory, type Project } from "../project.ts";
import { recoverOrphans } from "../recovery.ts";
import { worktreeEnv } from "./create.ts";
import { discoverWorktrees, liveGitWorktrees } from "./discover.ts";
import { branchExists, gitWorktrees, resolveCommit } from "./git_worktrees.ts";
import {
  branchLogDir,
  isStrictlyInside,
  realWorktreesRoot,
  targetLabel,
  worktreesRoot,
} from "./paths.ts";
import { liveQueueMark } from "../db/worktree_queue.ts";
import { type LossQuery, unreachableCommits } from "./reachability.ts";
import { type SavedWork, saveWork } from "./save_ref.ts";

export interface CleanupOptions {
  branch: string;
  force?: boolean;
  /**
   * Aborted on Ctrl-C/SIGTERM: the archive command is ended and nothing is removed, even with
   * --force; the lock is released on the way out instead of being left to orphan recovery.
   */
  signal?: AbortSignal;
}

export interface ArchiveReport {
  command: string;
  ok: boolean;
  exit_code: number | null;
  /** How it ended, in words: `exit 0`, `exit 4`, `timed out after 1800s`. */
  outcome: string;
  log: string;
  output_tail: string;
}

export interface CleanupReport {
  branch: string;
  path: string;
  label: string;
  /** True when the worktree is gone (and its record archived). */
  removed: boolean;
  forced: boolean;
  branch_deleted: boolean;
  /** The base the worktree was created from (information only: it decides nothing). */
  base_ref: string | null;
  /** Uncommitted paths in the worktree (saved, then discarded, with --force). */
  uncommitted: string[];
  /**
   * Commits reachable from the worktree's HEAD or branch and from no ref that outlives the
   * cleanup, as `git log --oneline` lines (saved, then discarded, with --force).
   */
  unreachable_commits: string[];
  /**
   * Where --force kept what it discarded and the command that brings it back; `also` lists
   * further refs in the rare case the branch's tip is not in HEAD's history. Null if nothing.
   */
  saved: (SavedWork & { restore: string; also: string[] }) | null;
  archive: ArchiveReport | null;
  /** Why nothing was removed (null when removed). */
  refused: string | null;
  warnings: string[];
}

/**
 * Checks and (unless refused) removes the worktree of `branch`, holding the target's run lock
 * from the first check to the end, so no run can start (or commit) on it meanwhile. A worktree
 * with uncommitted changes or commits no surviving ref reaches, or whose `archive` command fails,
 * is refused without `force` (the report lists what would be lost and `removed` is false); the
 * checks are repeated right before anything is removed, since the archive command can take long.
 * With `force`, what would be lost is first saved under `refs/cmcs/saved/…`. A live run, a
 * queued target, or a path outside the worktrees root is refused always (a {@link UserError}).
 */
export async function cleanupWorktree(
  project: Project,
  config: Config,
  db: Database,
  opts: CleanupOptions,
): Promise<CleanupReport> {
  if (!project.isGit) throw new UserError(`${project.root} is not a git repository`);
  await discoverWorktrees(project, db);
  await recoverOrphans(db);
  const row = _findRecord(project, db, opts.branch);
  const path = row.path;
  const label = targetLabel(project, path);
  const present = isDirectory(path);

  const root = (await realWorktreesRoot(project, config)) ?? worktreesRoot(project, config);
  const real = present ? await Deno.realPath(path) : path;
  if (!isStrictlyInside(real, root)) {
    throw new UserError(
      `${label} is outside the worktrees root ${root}; cmcs removes only worktrees it keeps there`,
      { hint: "remove it yourself with `git worktree remove`, or set worktrees.root" },
    );
  }

  const hold = _hold(db, path, label);
  try {
    return await _cleanupHeld(project, config, db, opts, { row, label, present, real, root, hold });
  } finally {
    releaseHold(db, hold);
  }
}

interface Held {
  row: WorktreeRow;
  label: string;
  present: boolean;
  real: string;
  root: string;
  hold: RunRow;
}

async function _cleanupHeld(
  project: Project,
  config: Config,
  db: Database,
  opts: CleanupOptions,
  { row, label, present, real, root, hold }: Held,
): Promise<CleanupReport> {
  const path = row.path;
  const queued = liveQueueMark(db, path);
  if (queued) {
    throw new UserError(
      `${label} is queued to run by broker ${queued.broker_pid}; not removing it, even with --force`,
      { hint: `stop that broker's runs first, or wait for them (\`cmcs wait ${label}\`)` },
    );
  }
  const report: CleanupReport = {
    branch: opts.branch,
    path,
    label,
    removed: false,
    forced: Boolean(opts.force),
    branch_deleted: false,
    base_ref: row.base_ref ?? config.worktrees.base ?? await currentBranch(project.root),
    uncommitted: [],
    unreachable_commits: [],
    saved: null,
    archive: null,
    refused: null,
    warnings: [],
  };

  let loss = await _assess(project, row, present, real, label);
  Object.assign(report, { uncommitted: loss.uncommitted, unreachable_commits: loss.commits });
  if (loss.reasons.length > 0 && !opts.force) {
    report.refused = `would lose ${loss.reasons.join(" and ")}`;
    return report;
  }

  _stopIfInterrupted(opts, label);
  if (config.worktrees.archive && present) {
    using stopped = _watchHold(db, hold);
    const signal = opts.signal ? AbortSignal.any([opts.signal, stopped.signal]) : stopped.signal;
    report.archive = await _runArchive(project, config, real, row, signal);
    // Interrupted or stopped: not even --force removes anything the user did not get to look at.
    _stopIfInterrupted(opts, label);
    _stopIfHoldLost(db, hold, label);
    if (!report.archive.ok) {
      if (!opts.force) {
        report.refused =
          `the archive command failed (${report.archive.outcome}; ${report.archive.log})`;
        return report;
      }
      report.warnings.push(
        `the archive command failed (${report.archive.outcome}); removed anyway (--force)`,
      );
    }
  }

  // The last look before anything is removed: the lock must still be ours, and what the archive
  // command (or a person) changed meanwhile counts.
  _stopIfInterrupted(opts, label);
  _stopIfHoldLost(db, hold, label);
  loss = await _assess(project, row, present, real, label);
  Object.assign(report, { uncommitted: loss.uncommitted, unreachable_commits: loss.commits });
  if (loss.reasons.length > 0) {
    if (!opts.force) {
      report.refused = `would lose ${
        loss.reasons.join(" and ")
      } (changed while it was being cleaned up)`;
      return report;
    }
    report.saved = await _save(project, row, real, label, loss);
  }

  if (loss.live) {
    const force = opts.force ? ["--force", "--force"] : [];
    const removed = await git(project.root, ["worktree", "remove", ...force, real]);
    if (removed.code !== 0) {
      throw new UserError(
        `git worktree remove ${label} failed: ${
          tail(removed.stderr || removed.stdout, 2).replaceAll("\n", " / ")
        }`,
        { hint: opts.force ? undefined : "nothing was removed; retry with --force to discard it" },
      );
    }
  } else {
    await git(project.root, ["worktree", "prune"]);
  }
  await _removeEmptyParents(dirname(real), root);
  report.removed = true;

  if (loss.branch && loss.branchTip) {
    report.branch_deleted = await _deleteBranch(project.root, loss.branch, loss.branchTip);
    if (!report.branch_deleted) {
      report.warnings.push(
        `branch ${loss.branch} was kept: it moved while the worktree was being removed`,
      );
    }
  }
  archiveWorktree(db, path);
  return report;
}

/**
 * Aborted when the hold is stopped (`cmcs stop` on the target) while the archive command runs, so
 * the command is ended at once and the cleanup gives up, instead of `stop` waiting on a holder
 * that cannot look until its command ends.
 */
function _watchHold(db: Database, hold: RunRow): { signal: AbortSignal } & Disposable {
  const controller = new AbortController();
  const timer = setInterval(() => {
    if (!holdIntact(db, hold)) controller.abort();
  }, HOLD_POLL_MS);
  return { signal: controller.signal, [Symbol.dispose]: () => clearInterval(timer) };
}

/** How often a cleanup busy in its archive command looks for a stop. */
const HOLD_POLL_MS = 200;

function _stopIfHoldLost(db: Database, hold: RunRow, label: string): void {
  if (!holdIntact(db, hold)) {
    throw new UserError(`the cleanup of ${label} was stopped (\`cmcs stop\`); nothing was removed`);
  }
}

function _stopIfInterrupted(opts: CleanupOptions, label: string): void {
  if (opts.signal?.aborted) {
    throw new UserError(`interrupted; nothing of ${label} was removed`, { exitCode: 130 });
  }
}

/** Takes the target's run lock for the cleanup; a live run (or another cleanup) refuses. */
function _hold(db: Database, path: string, label: string): RunRow {
  const me = { pid: Deno.pid, start: processStartToken(Deno.pid) };
  try {
    return holdTarget(db, path, me, `held by \`cmcs worktree cleanup\` (pid ${Deno.pid})`);
  } catch (error) {
    if (!(error instanceof TargetBusyError)) throw error;
    const run = error.run;
    if (isHold(run)) {
      throw new UserError(
        `another \`cmcs worktree cleanup\` (pid ${run.broker_pid}) is busy with ${label}`,
        { hint: "wait for it to finish" },
      );
    }
    throw new UserError(
      `run ${run.id} is running on ${label}; not removing it, even with --force`,
      { hint: `wait for it (\`cmcs wait ${label}\`) or stop it (\`cmcs stop ${run.id}\`) first` },
    );
  }
}

interface Loss {
  live: boolean;
  /** The branch the cleanup deletes: the one checked out there (none when HEAD is detached). */
  branch: string | null;
  branchTip: string | null;
  /** The worktree's HEAD commit, when git still knows the worktree. */
  head: string | null;
  uncommitted: string[];
  commits: string[];
  /** The reachability question that found `commits`, to ask again after saving. */
  query: LossQuery;
  /** Why the cleanup would lose work; empty when it would not. */
  reasons: string[];
}

/** What removing the worktree (and deleting its branch) would lose, as things are now. */
async function _assess(
  project: Project,
  row: WorktreeRow,
  present: boolean,
  real: string,
  label: string,
): Promise<Loss> {
  const known = (await gitWorktrees(project.root)).find((w) =>
    w.path === row.path || w.path === real
  );
  const live = (await liveGitWorktrees(project)).find((w) => w.realPath === real);
  if (present && !live) {
    throw new UserError(`${label} is not a git worktree of ${project.root}; cmcs leaves it alone`, {
      hint: "remove the directory yourself if you no longer need it",
    });
  }
  const branch = live
    ? live.branch
    : (await branchExists(project.root, row.branch) ? row.branch : null);
  const branchTip = branch ? await resolveCommit(project.root, `refs/heads/${branch}`) : null;
  const head = (live ?? known)?.head ?? null;
  const uncommitted = live ? await uncommittedPaths(real) : [];
  const query: LossQuery = {
    root: project.root,
    tips: [head, branchTip].filter((c): c is string => c !== null),
    branch,
    worktreePath: (live ?? known)?.path ?? null,
  };
  const commits = await unreachableCommits(query);
  const reasons: string[] = [];
  if (uncommitted.length > 0) reasons.push(`${uncommitted.length} uncommitted path(s)`);
  if (commits.length > 0) {
    reasons.push(`${commits.length} commit(s) that no other branch, tag or worktree reaches`);
  }
  return { live: Boolean(live), branch, branchTip, head, uncommitted, commits, query, reasons };
}

/**
 * Saves what a forced cleanup would destroy: HEAD, with the uncommitted changes on top, and the
 * branch's tip too when it is not in HEAD's history (a worktree whose directory is gone can have
 * a detached HEAD apart from its branch). The saved refs count as surviving refs, so asking the
 * reachability question again tells whether anything is still unsaved: that would be a bug, and
 * the cleanup stops before removing anything.
 */
async function _save(
  project: Project,
  row: WorktreeRow,
  real: string,
  label: string,
  loss: Loss,
): Promise<CleanupReport["saved"]> {
  const save = async (tip: string | null, dirty: boolean) => {
    const saved = await saveWork(project.root, {
      name: row.branch,
      tip,
      worktree: loss.live ? real : null,
      dirty,
      label,
    });
    return {
      ...saved,
      restore: `git branch ${loss.branch ?? `${row.branch}-restored`} ${saved.ref}`,
    };
  };
  const first = await save(loss.head ?? loss.branchTip, loss.uncommitted.length > 0);
  let also: { ref: string; restore: string } | null = null;
  if ((await unreachableCommits(loss.query)).length > 0 && loss.branchTip) {
    also = await save(loss.branchTip, false);
  }
  const left = await unreachableCommits(loss.query);
  if (left.length > 0) {
    throw new Error(`${label}: ${left.length} commit(s) still unsaved after saving ${first.ref}`);
  }
  return { ...first, also: also ? [also.ref] : [] };
}

/**
 * Deletes `branch` only if it still points to `tip` (one atomic `update-ref`), so a commit made
 * on it at the last moment keeps its branch; then drops its `branch.<name>.*` settings.
 */
async function _deleteBranch(root: string, branch: string, tip: string): Promise<boolean> {
  const deleted = await git(root, ["update-ref", "-d", `refs/heads/${branch}`, tip]);
  if (deleted.code !== 0) return false;
  await git(root, ["config", "--remove-section", `branch.${branch}`]);
  return true;
}

function _findRecord(project: Project, db: Database, branch: string): WorktreeRow {
  const rows = listWorktrees(db, { includeArchived: true }).filter((r) => r.branch === branch);
  const active = rows.filter((r) => r.status === "active");
  if (active.some((r) => r.path === project.root)) {
    throw new UserError(
      `branch ${branch} is checked out in the main checkout; cmcs never removes it`,
    );
  }
  if (active.length > 0) return active[0];
  if (rows.length > 0) {
    throw new UserError(`the worktree of branch ${branch} was already cleaned up`, {
      hint: "see `cmcs worktree list --all`",
    });
  }
  throw new UserError(`no worktree for branch ${branch}`, {
    hint: "list them with `cmcs worktree list`",
  });
}

async function _runArchive(
  project: Project,
  config: Config,
  path: string,
  row: WorktreeRow,
  signal?: AbortSignal,
): Promise<ArchiveReport> {
  const command = config.worktrees.archive!;
  const timeoutS = config.worktrees.timeout_s;
  const result = await runShellCommand({
    command,
    cwd: path,
    env: worktreeEnv(project, path, row.branch, row.port),
    timeoutS,
    signal,
  });
  const logDir = branchLogDir(project, row.branch);
  await Deno.mkdir(logDir, { recursive: true });
  const log = join(logDir, "archive.log");
  await Deno.writeTextFile(
    log,
    `$ ${command}\n# in ${path}; ${describeShellResult(result, timeoutS)}\n${result.output}`,
  );
  return {
    command,
    ok: result.code === 0,
    exit_code: result.code,
    outcome: describeShellResult(result, timeoutS),
    log,
    output_tail: tail(result.output, 40),
  };
}

/** Removes now-empty directories from `dir` up to (not including) `root`: `worktrees/feat/`. */
async function _removeEmptyParents(dir: string, root: string): Promise<void> {
  let current = dir;
  while (isStrictlyInside(current, root)) {
    try {
      await Deno.remove(current); // fails unless empty
    } catch {
      return;
    }
    current = dirname(current);
  }
}
