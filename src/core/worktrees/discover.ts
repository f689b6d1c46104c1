/**
 * Registering worktrees cmcs did not create: every worktree `git worktree list` knows (at any
 * depth, so `worktrees/feat/x` is found, and wherever it lives) gets a record, so `worktree list`,
 * `run --all` and the dashboard see it. The earlier tool only looked at direct children of the
 * worktrees root and missed nested branch names.
 */
import { basename } from "../path.ts";
import type { Database } from "../db/database.ts";
import { getWorktree, registerWorktree } from "../db/worktrees.ts";
import type { Project } from "../project.ts";
import { type GitWorktree, gitWorktrees } from "./git_worktrees.ts";

export interface DiscoveredWorktree extends GitWorktree {
  /** Real path, as stored in the database. */
  realPath: string;
}

/**
 * The repository's live worktrees (directory present, not bare), with real paths. Empty outside
 * git.
 */
export async function liveGitWorktrees(project: Project): Promise<DiscoveredWorktree[]> {
  if (!project.isGit) return [];
  const found: DiscoveredWorktree[] = [];
  for (const worktree of await gitWorktrees(project.root)) {
    if (worktree.bare || worktree.prunable) continue;
    let realPath: string;
    try {
      realPath = await Deno.realPath(worktree.path);
    } catch {
      continue;
    }
    found.push({ ...worktree, realPath });
  }
  return found;
}

/**
 * Registers every live git worktree that has no active record (an archived record of a worktree
 * git still has is re-activated) and refreshes the branch of the others. Returns the paths that
 * were newly registered or re-activated.
 */
export async function discoverWorktrees(project: Project, db: Database): Promise<string[]> {
  const registered: string[] = [];
  for (const worktree of await liveGitWorktrees(project)) {
    const existing = getWorktree(db, worktree.realPath);
    const branch = worktree.branch ?? existing?.branch ?? basename(worktree.realPath);
    if (existing?.status === "active" && existing.branch === branch) continue;
    registerWorktree(db, worktree.realPath, branch, { reactivate: true });
    if (existing?.status !== "active") registered.push(worktree.realPath);
  }
  return registered;
}
