import { join } from "../core/path.ts";
import { requireProject } from "../core/project.ts";
import { Database } from "../core/db/database.ts";
import { getRun, oldestRunningStart } from "../core/db/runs.ts";
import { purgeArchivedWorktrees } from "../core/db/worktrees.ts";
import { print, printError, printJson } from "../cli/output.ts";

export interface CleanOptions {
  logsDays: number;
  purgeArchived?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `cmcs clean`: deletes `.cmcs/logs/<run-id>/` directories of runs that ended more than
 * `logsDays` days ago, and with `--purge-archived` the archived worktree records that have no
 * runs. A directory with no matching run is judged by the newest modification time of it and its
 * entries. A `running` run's logs are never deleted, whatever the age (the earlier tool deleted
 * them with `--logs-days 0`); that includes a run whose broker died and that no command has
 * marked `interrupted` yet. Runs, attempts and events are never deleted.
 */
export async function clean(opts: CleanOptions): Promise<number> {
  const project = await requireProject(Deno.cwd());
  const cutoff = Date.now() - opts.logsDays * DAY_MS;
  const db = Database.open(project.dbPath);
  const removed: string[] = [];
  const removedFiles: string[] = [];
  const failures: string[] = [];
  let purged: string[] = [];
  let kept = 0;
  try {
    for (const dir of await _oldLogDirs(db, project.logsDir, cutoff)) {
      if (!opts.dryRun) {
        try {
          await Deno.remove(dir, { recursive: true });
        } catch (error) {
          failures.push(`cannot remove ${dir}: ${(error as Error).message}`);
          continue;
        }
      }
      removed.push(dir);
    }
    for (const file of await _oldBrokerLogs(db, project.logsDir, cutoff)) {
      if (!opts.dryRun) {
        try {
          await Deno.remove(file);
        } catch (error) {
          failures.push(`cannot remove ${file}: ${(error as Error).message}`);
          continue;
        }
      }
      removedFiles.push(file);
    }
    if (opts.purgeArchived) {
      const result = purgeArchivedWorktrees(db, opts.dryRun ?? false);
      purged = result.purged;
      kept = result.kept;
    }
  } finally {
    db.close();
  }

  if (opts.json) {
    printJson({
      removed_log_dirs: removed,
      removed_log_files: removedFiles,
      purged_worktrees: purged,
      dry_run: opts.dryRun ?? false,
    });
  } else {
    const verb = opts.dryRun ? "would remove" : "removed";
    if (opts.dryRun) { for (const dir of removed) print(`would remove ${dir}`); }
    print(
      `${verb} ${removed.length} log ${
        removed.length === 1 ? "directory" : "directories"
      } older than ${opts.logsDays} day(s)`,
    );
    if (removedFiles.length > 0) {
      if (opts.dryRun) { for (const file of removedFiles) print(`would remove ${file}`); }
      print(`${verb} ${removedFiles.length} detached-broker log file(s)`);
    }
    if (opts.purgeArchived) {
      if (opts.dryRun) { for (const path of purged) print(`would purge ${path}`); }
      print(
        `${opts.dryRun ? "would purge" : "purged"} ${purged.length} archived worktree record(s)` +
          (kept > 0 ? `; kept ${kept} that still have runs` : ""),
      );
    }
  }
  for (const failure of failures) printError(`error: ${failure}`);
  return failures.length > 0 ? 1 : 0;
}

/** Log directories (absolute paths, in name order) that are old enough and not a running run's. */
async function _oldLogDirs(db: Database, logsDir: string, cutoff: number): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(logsDir)) {
      if (entry.isDirectory) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  names.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const old: string[] = [];
  for (const name of names) {
    const dir = join(logsDir, name);
    // Looked up at decision time, so a run created while clean lists the directory is seen.
    const run = /^\d+$/.test(name) ? getRun(db, Number(name)) : undefined;
    if (run?.status === "running") continue;
    const endedAt = run?.finished_at ? Date.parse(run.finished_at) : await _newestMtime(dir);
    if (endedAt !== null && endedAt < cutoff) old.push(dir);
  }
  return old;
}

/**
 * Logs of detached brokers (`broker-<time>.log`) last written before the cutoff. A log written
 * since the oldest running run started may belong to a live broker and is kept.
 */
async function _oldBrokerLogs(db: Database, logsDir: string, cutoff: number): Promise<string[]> {
  const oldestRunning = oldestRunningStart(db);
  const keepFrom = oldestRunning ? Date.parse(oldestRunning) : Infinity;
  const old: string[] = [];
  try {
    for await (const entry of Deno.readDir(logsDir)) {
      if (!entry.isFile || !/^broker-.*\.log$/.test(entry.name)) continue;
      const path = join(logsDir, entry.name);
      const mtime = (await Deno.stat(path).catch(() => null))?.mtime?.getTime();
      if (mtime !== undefined && mtime < cutoff && mtime < keepFrom) old.push(path);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return old.sort();
}

/** Newest modification time (ms) of `dir` and its direct entries; null when unknown. */
async function _newestMtime(dir: string): Promise<number | null> {
  let newest = (await Deno.stat(dir).catch(() => null))?.mtime?.getTime() ?? null;
  if (newest === null) return null;
  try {
    for await (const entry of Deno.readDir(dir)) {
      const mtime = (await Deno.lstat(join(dir, entry.name)).catch(() => null))?.mtime?.getTime();
      if (mtime !== undefined && mtime > newest) newest = mtime;
    }
  } catch {
    return newest;
  }
  return newest;
}
