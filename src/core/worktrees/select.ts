/** The targets `run --all` and `wait --all` act on: the project's registered, present targets. */
import { type Config, loadConfig } from "../config.ts";
import { Database } from "../db/database.ts";
import { latestRun } from "../db/runs.ts";
import { listWorktrees } from "../db/worktrees.ts";
import { isDirectory, type Project, requireProject } from "../project.ts";
import { discoverTickets, resolveTicketsDir, ticketQueue } from "../tickets.ts";
import { discoverWorktrees } from "./discover.ts";
import { liveQueueMark } from "../db/worktree_queue.ts";

/**
 * Active registered targets of the project `cwd` belongs to (existing git worktrees are
 * registered first) whose directory exists, the main checkout first. `keep` filters them with the
 * project's database open.
 */
export async function registeredTargets(
  cwd: string,
  keep: (path: string, db: Database, project: Project) => Promise<boolean> | boolean,
): Promise<string[]> {
  const project = await requireProject(cwd);
  const db = Database.open(project.dbPath);
  try {
    await discoverWorktrees(project, db);
    const paths: string[] = [];
    for (const row of listWorktrees(db)) {
      if (!isDirectory(row.path)) continue;
      if (await keep(row.path, db, project)) paths.push(row.path);
    }
    paths.sort((a, b) =>
      Number(b === project.root) - Number(a === project.root) || a.localeCompare(b)
    );
    return paths;
  } finally {
    db.close();
  }
}

/** `run --all`: targets whose tickets include one a run would act on (open Codex or malformed). */
export function runnableTargets(cwd: string): Promise<string[]> {
  let config: Config | null = null;
  return registeredTargets(cwd, async (path, _db, project) => {
    config ??= (await loadConfig(project)).config;
    try {
      const dir = resolveTicketsDir(path, config.tickets.dir);
      return ticketQueue(await discoverTickets(dir)).next !== null;
    } catch {
      return false;
    }
  });
}

/** `wait --all`: targets that have a run, or are queued by a live broker. */
export function waitableTargets(cwd: string): Promise<string[]> {
  return registeredTargets(
    cwd,
    (path, db) => latestRun(db, path) !== undefined || liveQueueMark(db, path) !== null,
  );
}
