import { print, printError, printJson } from "../cli/output.ts";
import { loadConfig } from "../core/config.ts";
import { Database } from "../core/db/database.ts";
import { requireProject } from "../core/project.ts";
import { cleanupWorktree } from "../core/worktrees/cleanup.ts";

export interface WorktreeCleanupOptions {
  force?: boolean;
  json?: boolean;
}

/**
 * `cmcs worktree cleanup <branch>`: removes the worktree and its branch, or refuses (exit 1)
 * listing the uncommitted paths and unmerged commits that would be lost.
 */
export async function worktreeCleanup(
  branch: string,
  opts: WorktreeCleanupOptions,
): Promise<number> {
  const project = await requireProject(Deno.cwd());
  const { config } = await loadConfig(project);
  const db = Database.open(project.dbPath);
  let report;
  try {
    report = await cleanupWorktree(project, config, db, { branch, force: opts.force });
  } finally {
    db.close();
  }
  if (opts.json) {
    printJson(report);
    return report.removed ? 0 : 1;
  }
  if (!report.removed) {
    printError(
      `error: not removing ${report.label} (branch ${report.branch}): ${report.refused}`,
    );
    _listLoss(report.uncommitted, report.unmerged_commits, report.base_ref);
    if (report.archive && !report.archive.ok && report.archive.output_tail) {
      printError(report.archive.output_tail);
    }
    printError(
      `hint: commit and merge what you want to keep, or discard it with \`cmcs worktree cleanup ${report.branch} --force\``,
    );
    return 1;
  }
  if (report.forced && (report.uncommitted.length > 0 || report.unmerged_commits.length > 0)) {
    printError("discarded (--force):");
    _listLoss(report.uncommitted, report.unmerged_commits, report.base_ref);
  }
  for (const warning of report.warnings) printError(`warning: ${warning}`);
  print(
    `removed worktree ${report.label}${
      report.branch_deleted ? ` and branch ${report.branch}` : ""
    }`,
  );
  return 0;
}

function _listLoss(uncommitted: string[], commits: string[], base: string | null): void {
  if (uncommitted.length > 0) {
    printError(`  uncommitted (${uncommitted.length}):`);
    for (const path of uncommitted.slice(0, 50)) printError(`    ${path}`);
    if (uncommitted.length > 50) printError(`    … and ${uncommitted.length - 50} more`);
  }
  if (commits.length > 0) {
    printError(`  commits not in ${base} (${commits.length}):`);
    for (const line of commits.slice(0, 50)) printError(`    ${line}`);
    if (commits.length > 50) printError(`    … and ${commits.length - 50} more`);
  }
}
