/**
 * The dashboard's reads beyond the shared repositories: one run's summary, which paths are
 * targets this project knows (the only directories the dashboard will read tickets from), and an
 * attempt as the API shows it. The SQL is in src/core/db/.
 */
import { newerRunCount } from "../core/db/runs.ts";
import { queryRunSummaries, type RunSummary } from "../core/db/status_query.ts";
import type { AttemptRow, FileChange, RunRow } from "../core/db/types.ts";
import { isRecordedTarget } from "../core/db/worktrees.ts";
import type { Database } from "../core/db/database.ts";
import type { Project } from "../core/project.ts";

/** The summary of one run, in exactly the shape `cmcs status --json` gives it. */
export function runSummary(db: Database, run: RunRow): RunSummary | undefined {
  const newer = newerRunCount(db, run.worktree, run.id);
  const [summary] = queryRunSummaries(db, { target: run.worktree, limit: 1, offset: newer });
  return summary?.id === run.id ? summary : undefined;
}

/**
 * True when `path` is a target this project knows: its root, a registered worktree, or the
 * target of a recorded run. Anything else is refused, so a request cannot make the dashboard read
 * an arbitrary directory.
 */
export function isKnownTarget(db: Database, project: Project, path: string): boolean {
  return path === project.root || isRecordedTarget(db, path);
}

/** An attempt as the API returns it: JSON columns decoded, the internal process token left out. */
export type AttemptView = Omit<AttemptRow, "files_changed" | "warnings" | "process_token"> & {
  files_changed: FileChange[];
  warnings: string[];
};

export function attemptView(row: AttemptRow): AttemptView {
  const { process_token: _token, files_changed, warnings, ...rest } = row;
  return {
    ...rest,
    files_changed: decodeList<FileChange>(files_changed),
    warnings: decodeList<string>(warnings),
  };
}

function decodeList<T>(text: string | null): T[] {
  if (!text) return [];
  try {
    const value = JSON.parse(text);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}
