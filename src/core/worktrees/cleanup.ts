/**
 * `worktree cleanup`: removes a worktree and its branch — but only after checking, before
 * anything is touched, that nothing would be lost. The earlier tool force-removed the directory
 * first and discovered the unmerged branch afterwards, destroying uncommitted work.
 */
import { dirname, join } from "node:path";
import { UserError } from "../../cli/errors.ts";
import type { Config } from "../config.ts";
import type { Database } from "../db/database.ts";
import { brokerAlive, latestRun } from "../db/runs.ts";
import type { WorktreeRow } from "../db/types.ts";
import { archiveWorktree, listWorktrees } from "../db/worktrees.ts";
import { currentBranch, git } from "../git.ts";
import { uncommittedPaths } from "../git_changes.ts";
import { describeShellResult, runShellCommand, tail } from "../hooks.ts";
import { isDirectory, type Project } from "../project.ts";
import { recoverOrphans } from "../recovery.ts";
import { worktreeEnv } from "./create.ts";
import { discoverWorktrees, liveGitWorktrees } from "./discover.ts";
import { branchExists, resolveCommit, unmergedCommits } from "./git_worktrees.ts";
import {
  branchLogDir,
  isStrictlyInside,
  realWorktreesRoot,
  targetLabel,
  worktreesRoot,
} from "./paths.ts";
import { liveQueueMark } from "./queue.ts";

export interface CleanupOptions {
  branch: string;
  force?: boolean;
  /** Ends the archive command (Ctrl-C): it then fails as `ended by a stop`. */
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
  base_ref: string | null;
  /** Uncommitted paths in the worktree (lost when removed with --force). */
  uncommitted: string[];
  /** `git log --oneline <base>..<branch>`: commits not in the base (lost with --force). */
  unmerged_commits: string[];
  archive: ArchiveReport | null;
  /** Why nothing was removed (null when removed). */
  refused: string | null;
  warnings: string[];
}

/**
 * Checks and (unless refused) removes the worktree of `branch`. A worktree with uncommitted
 * changes or commits not merged into its base, or whose `archive` command fails, is refused
 * without `force` (the report lists what would be lost and `removed` is false). A live run or a
 * path outside the worktrees root is refused always (a {@link UserError}).
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
  const present = await isDirectory(path);

  const root = (await realWorktreesRoot(project, config)) ?? worktreesRoot(project, config);
  const real = present ? await Deno.realPath(path) : path;
  if (!isStrictlyInside(real, root)) {
    throw new UserError(
      `${label} is outside the worktrees root ${root}; cmcs removes only worktrees it keeps there`,
      { hint: "remove it yourself with `git worktree remove`, or set worktrees.root" },
    );
  }

  const run = latestRun(db, path);
  if (run?.status === "running" && brokerAlive(run)) {
    throw new UserError(
      `run ${run.id} is running on ${label}; not removing it, even with --force`,
      {
        hint: `wait for it (\`cmcs wait ${label}\`) or stop it (\`cmcs stop ${run.id}\`) first`,
      },
    );
  }
  const queued = liveQueueMark(db, path);
  if (queued) {
    throw new UserError(
      `${label} is queued to run by broker ${queued.broker_pid}; not removing it, even with --force`,
      { hint: `stop that broker's runs first, or wait for them (\`cmcs wait ${label}\`)` },
    );
  }

  const live = (await liveGitWorktrees(project)).find((w) => w.realPath === real);
  if (present && !live) {
    throw new UserError(`${label} is not a git worktree of ${project.root}; cmcs leaves it alone`, {
      hint: "remove the directory yourself if you no longer need it",
    });
  }
  const branch = live
    ? live.branch
    : (await branchExists(project.root, row.branch) ? row.branch : null);
  const mainBranch = await currentBranch(project.root);
  const base = row.base_ref ?? config.worktrees.base ?? mainBranch;
  const report: CleanupReport = {
    branch: opts.branch,
    path,
    label,
    removed: false,
    forced: Boolean(opts.force),
    branch_deleted: false,
    base_ref: base,
    uncommitted: present ? await uncommittedPaths(real) : [],
    unmerged_commits: [],
    archive: null,
    refused: null,
    warnings: [],
  };

  const reasons: string[] = [];
  if (report.uncommitted.length > 0) {
    reasons.push(`${report.uncommitted.length} uncommitted path(s)`);
  }
  if (branch && base && base !== branch) {
    if (await resolveCommit(project.root, base)) {
      report.unmerged_commits = await unmergedCommits(project.root, base, branch);
      if (report.unmerged_commits.length > 0) {
        reasons.push(`${report.unmerged_commits.length} commit(s) not merged into ${base}`);
      }
    } else {
      reasons.push(`its base ${base} does not exist, so cmcs cannot tell whether it is merged`);
    }
  } else if (branch && !base) {
    reasons.push("it has no base to check merges against (the main checkout's HEAD is detached)");
  }
  if (reasons.length > 0 && !opts.force) {
    report.refused = `would lose ${reasons.join(" and ")}`;
    return report;
  }

  if (config.worktrees.archive && present) {
    report.archive = await _runArchive(project, config, real, row, opts.signal);
    if (opts.signal?.aborted) {
      // Interrupted: not even --force removes anything the user did not get to look at.
      report.refused = `interrupted during the archive command (${report.archive.outcome}); ` +
        "nothing was removed";
      return report;
    }
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

  if (live) {
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

  if (branch) {
    const deleted = await git(project.root, ["branch", "-D", branch]);
    report.branch_deleted = deleted.code === 0;
    if (!report.branch_deleted) {
      report.warnings.push(`branch ${branch} was kept: ${tail(deleted.stderr, 1)}`);
    }
  }
  archiveWorktree(db, path);
  return report;
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
  signal: AbortSignal | undefined,
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
