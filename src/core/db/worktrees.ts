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

/** Ports held by active worktree records. */
export function activePorts(db: Database): number[] {
  return db.all<{ port: number }>(
    "SELECT port FROM worktrees WHERE status = 'active' AND port IS NOT NULL",
  ).map((row) => Number(row.port));
}

/** True when `path` is a registered worktree or the target of a recorded run. */
export function isRecordedTarget(db: Database, path: string): boolean {
  return db.get("SELECT 1 AS x FROM worktrees WHERE path = ?", path) !== undefined ||
    db.get("SELECT 1 AS x FROM runs WHERE worktree = ? LIMIT 1", path) !== undefined;
}

/**
 * Deletes (or, with `dryRun`, only lists) archived worktree records that no run refers to, in one
 * transaction. `kept` counts the archived records left because runs still name them.
 */
export function purgeArchivedWorktrees(
  db: Database,
  dryRun: boolean,
): { purged: string[]; kept: number } {
  return db.transaction(() => {
    const purged = db.all<{ path: string }>(
      `SELECT path FROM worktrees w WHERE status = 'archived'
         AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.worktree = w.path) ORDER BY path`,
    ).map((row) => row.path);
    const kept = Number(
      db.get<{ n: number }>("SELECT COUNT(*) AS n FROM worktrees WHERE status = 'archived'")?.n ??
        0,
    ) - purged.length;
    if (!dryRun) {
      db.run(
        `DELETE FROM worktrees WHERE status = 'archived'
           AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.worktree = worktrees.path)`,
      );
    }
    return { purged, kept };
  });
}
