/**
 * `worktree list`: every registered target (the main checkout and its worktrees) with what an
 * orchestrator needs to decide what to do next — its latest run, how many tickets are done, how
 * far the branch is from its base and whether anything is uncommitted.
 */
import type { Config } from "../config.ts";
import type { Database } from "../db/database.ts";
import { latestRun } from "../db/runs.ts";
import type { RunStatus, WorktreeRow } from "../db/types.ts";
import { listWorktrees } from "../db/worktrees.ts";
import { currentBranch } from "../git.ts";
import { uncommittedPaths } from "../git_changes.ts";
import { isDirectory, type Project } from "../project.ts";
import { recoverOrphans } from "../recovery.ts";
import { discoverTickets, resolveTicketsDir } from "../tickets.ts";
import { discoverWorktrees } from "./discover.ts";
import { aheadBehind } from "./git_worktrees.ts";
import { targetLabel } from "./paths.ts";
import { liveQueueMark } from "../db/worktree_queue.ts";

export type WorktreeState = "active" | "missing" | "archived";

export interface WorktreeInfo {
  branch: string;
  path: string;
  /** Path relative to the main checkout (`.` for the checkout itself). */
  label: string;
  /** True for the main checkout. */
  main: boolean;
  /** `missing`: registered and active, but its directory is gone. */
  state: WorktreeState;
  base_ref: string | null;
  port: number | null;
  latest_run: {
    id: number;
    status: RunStatus;
    started_at: string;
    finished_at: string | null;
  } | null;
  /** Waiting in a live broker's queue for a `run.max_parallel` slot. */
  queued: boolean;
  /** Ticket files in the target's tickets dir; null when the directory cannot be read. */
  tickets: { done: number; total: number } | null;
  /** Commits on the branch not in the base, and in the base not on the branch; null if unknown. */
  ahead: number | null;
  behind: number | null;
  /** Uncommitted paths (tracked changes and untracked files); null if unknown. */
  uncommitted: number | null;
  created_at: string;
  archived_at: string | null;
}

/**
 * Registers existing git worktrees, recovers orphaned runs, then describes every active record
 * (and archived ones with `all`): the main checkout first, then by path.
 */
export async function listWorktreeInfo(
  project: Project,
  config: Config,
  db: Database,
  opts: { all?: boolean } = {},
): Promise<{ worktrees: WorktreeInfo[]; registered: string[] }> {
  const registered = await discoverWorktrees(project, db);
  await recoverOrphans(db);
  const mainBranch = project.isGit ? await currentBranch(project.root) : null;
  const rows = listWorktrees(db, { includeArchived: opts.all });
  rows.sort((a, b) =>
    Number(b.path === project.root) - Number(a.path === project.root) ||
    a.path.localeCompare(b.path)
  );
  const worktrees: WorktreeInfo[] = [];
  for (const row of rows) {
    worktrees.push(await describeWorktree(project, config, db, row, mainBranch));
  }
  return { worktrees, registered };
}

async function describeWorktree(
  project: Project,
  config: Config,
  db: Database,
  row: WorktreeRow,
  mainBranch: string | null,
): Promise<WorktreeInfo> {
  const main = row.path === project.root;
  const present = isDirectory(row.path);
  const state: WorktreeState = row.status === "archived"
    ? "archived"
    : present
    ? "active"
    : "missing";
  const run = latestRun(db, row.path);
  const info: WorktreeInfo = {
    branch: row.branch,
    path: row.path,
    label: targetLabel(project, row.path),
    main,
    state,
    base_ref: row.base_ref,
    port: row.port,
    latest_run: run
      ? { id: run.id, status: run.status, started_at: run.started_at, finished_at: run.finished_at }
      : null,
    queued: liveQueueMark(db, row.path) !== null,
    tickets: null,
    ahead: null,
    behind: null,
    uncommitted: null,
    created_at: row.created_at,
    archived_at: row.archived_at,
  };
  if (!present) return info;
  if (project.isGit) info.branch = (await currentBranch(row.path)) ?? row.branch;
  try {
    const entries = await discoverTickets(resolveTicketsDir(row.path, config.tickets.dir));
    info.tickets = {
      done: entries.filter((e) => e.ok && e.ticket.done).length,
      total: entries.length,
    };
  } catch {
    info.tickets = null;
  }
  if (!project.isGit) return info;
  const base = row.base_ref ?? config.worktrees.base ?? mainBranch;
  if (base && !(main && base === info.branch)) {
    const counts = await aheadBehind(row.path, base);
    info.ahead = counts?.ahead ?? null;
    info.behind = counts?.behind ?? null;
    if (info.base_ref === null) info.base_ref = base;
  }
  info.uncommitted = (await uncommittedPaths(row.path)).length;
  return info;
}
