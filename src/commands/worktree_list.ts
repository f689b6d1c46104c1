import { formatTable, paint, print, printError, printJson, statusColor } from "../cli/output.ts";
import { loadConfig } from "../core/config.ts";
import { Database } from "../core/db/database.ts";
import { requireProject } from "../core/project.ts";
import { listWorktreeInfo, type WorktreeInfo } from "../core/worktrees/list.ts";

export interface WorktreeListOptions {
  all?: boolean;
  json?: boolean;
}

/**
 * `cmcs worktree list`: the main checkout and every worktree (existing git worktrees are
 * registered on the way) with their latest run, tickets, distance from the base and uncommitted
 * changes; archived ones too with `--all`.
 */
export async function worktreeList(opts: WorktreeListOptions): Promise<number> {
  const project = await requireProject(Deno.cwd());
  const { config } = await loadConfig(project);
  const db = Database.open(project.dbPath);
  let listed;
  try {
    listed = await listWorktreeInfo(project, config, db, { all: opts.all });
  } finally {
    db.close();
  }
  if (opts.json) {
    printJson(listed);
    return 0;
  }
  for (const path of listed.registered) printError(`note: registered existing worktree ${path}`);
  if (listed.worktrees.length === 0) {
    print("no worktrees registered");
    return 0;
  }
  print(formatTable(
    ["BRANCH", "STATE", "LATEST RUN", "TICKETS", "AHEAD/BEHIND", "CHANGES", "PATH"],
    listed.worktrees.map((w) => [
      w.branch,
      w.state === "active" ? w.state : paint("yellow", w.state),
      _latest(w),
      w.tickets ? `${w.tickets.done}/${w.tickets.total}` : "-",
      w.ahead === null || w.behind === null ? "-" : `+${w.ahead} -${w.behind}`,
      w.uncommitted === null ? "-" : String(w.uncommitted),
      w.label,
    ]),
  ));
  return 0;
}

function _latest(w: WorktreeInfo): string {
  if (w.queued) return paint("yellow", "queued");
  if (!w.latest_run) return "no runs";
  return `#${w.latest_run.id} ${paint(statusColor(w.latest_run.status), w.latest_run.status)}`;
}
