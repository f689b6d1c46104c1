import { relative } from "./path.ts";
import { UsageError, UserError } from "./errors.ts";
import { Database } from "./db/database.ts";
import { getRun, latestRun } from "./db/runs.ts";
import type { RunRow } from "./db/types.ts";
import { isDirectory, type Project, requireProject, resolveTarget } from "./project.ts";

export interface OpenedTarget {
  project: Project;
  db: Database;
  /** Absolute real path of the target, or null when the user named a run id. */
  target: string | null;
  label: string;
}

/**
 * Opens the database for a command argument that is either a target path or a run id. A bare
 * number that is not also an existing directory is a run id in the current directory's project;
 * one past 2^53 is refused as typed (as a number it would be rounded, and named as `1e+21`).
 */
export async function openTargetOrRun(
  arg: string,
): Promise<OpenedTarget & { runId: number | null }> {
  if (/^\d+$/.test(arg) && !isDirectory(arg)) {
    if (!Number.isSafeInteger(Number(arg))) {
      throw new UsageError(
        `run id ${arg} is out of range: run ids are at most ${Number.MAX_SAFE_INTEGER}`,
        "see the runs and their ids with `cmcs status`",
      );
    }
    const project = await requireProject(Deno.cwd());
    return {
      project,
      db: Database.open(project.dbPath),
      target: null,
      label: `run ${arg}`,
      runId: Number(arg),
    };
  }
  return { ...(await openTarget(arg)), runId: null };
}

/** Opens the database of the project that `path` belongs to. */
export async function openTarget(path: string): Promise<OpenedTarget> {
  const target = await resolveTarget(path);
  const project = await requireProject(target);
  return {
    project,
    db: Database.open(project.dbPath),
    target,
    label: relative(project.root, target) || ".",
  };
}

/** The run a command acts on: the given id, or the newest run of the target; a clear error if none. */
export function resolveRun(opened: OpenedTarget, runId: number | null | undefined): RunRow {
  if (runId) {
    const run = getRun(opened.db, runId);
    if (!run) {
      throw new UserError(`no run with id ${runId} in ${opened.project.dbPath}`, {
        hint: "list runs with `cmcs status`",
      });
    }
    return run;
  }
  const run = opened.target ? latestRun(opened.db, opened.target) : undefined;
  if (!run) {
    throw new UserError(`no runs yet for ${opened.label}`, {
      hint: `start one with \`cmcs run ${opened.label}\``,
    });
  }
  return run;
}
