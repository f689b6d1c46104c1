import type { Database } from "./database.ts";
import type { WorktreeRow } from "./types.ts";
import { nowIso } from "../time.ts";

/**
 * Registers `path` (absolute, real) as an active target, or refreshes its branch. An archived
 * record stays archived unless `reactivate` is set (the earlier tool silently re-activated).
 */
export function registerWorktree(
  db: Database,
  path: string,
  branch: string,
  options: { reactivate?: boolean; baseRef?: string | null; port?: number | null } = {},
): void {
  db.run(
    `INSERT INTO worktrees (path, branch, created_at, status, base_ref, port) VALUES (?, ?, ?, 'active', ?, ?)
     ON CONFLICT(path) DO UPDATE SET branch = excluded.branch,
       base_ref = COALESCE(excluded.base_ref, worktrees.base_ref),
       port = COALESCE(excluded.port, worktrees.port),
       status = CASE WHEN ? THEN 'active' ELSE worktrees.status END,
       archived_at = CASE WHEN ? THEN NULL ELSE worktrees.archived_at END`,
    path,
    branch,
    nowIso(),
    options.baseRef ?? null,
    options.port ?? null,
    options.reactivate ? 1 : 0,
    options.reactivate ? 1 : 0,
  );
}

export function getWorktree(db: Database, path: string): WorktreeRow | undefined {
  return db.get<WorktreeRow>("SELECT * FROM worktrees WHERE path = ?", path);
}

export function listWorktrees(
  db: Database,
  options: { includeArchived?: boolean } = {},
): WorktreeRow[] {
  return db.all<WorktreeRow>(
    `SELECT * FROM worktrees ${
      options.includeArchived ? "" : "WHERE status = 'active'"
    } ORDER BY path`,
  );
}

export function archiveWorktree(db: Database, path: string): void {
  db.run(
    "UPDATE worktrees SET status = 'archived', archived_at = ? WHERE path = ?",
    nowIso(),
    path,
  );
}
