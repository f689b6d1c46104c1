import { EXIT } from "../cli/errors.ts";
import { listenForInterrupt } from "../cli/interrupt.ts";
import { printJson } from "../cli/output.ts";
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
 * listing the uncommitted paths and unmerged commits that would be lost. Ctrl-C during the
 * `archive` command ends it and removes nothing (exit 130).
 */
export async function worktreeCleanup(
  branch: string,
  opts: WorktreeCleanupOptions,
): Promise<number> {
  const project = await requireProject(Deno.cwd());
  const { config } = await loadConfig(project);
  const db = Database.open(project.dbPath);
  using interrupt = listenForInterrupt();
  let report;
  try {
    report = await cleanupWorktree(project, config, db, {
      branch,
      force: opts.force,
      signal: interrupt.signal,
    });
  } finally {
    db.close();
  }
  const failed = interrupt.signal.aborted ? EXIT.interrupted : EXIT.failed;
  if (opts.json) {
    printJson(report);
    return report.removed ? 0 : failed;
  }
  if (!report.removed) {
    console.error(
      `error: not removing ${report.label} (branch ${report.branch}): ${report.refused}`,
    );
    _listLoss(report.uncommitted, report.unmerged_commits, report.base_ref);
    if (report.archive && !report.archive.ok && report.archive.output_tail) {
      console.error(report.archive.output_tail);
    }
    console.error(
      `hint: commit and merge what you want to keep, or discard it with \`cmcs worktree cleanup ${report.branch} --force\``,
    );
    return failed;
  }
  if (report.forced && (report.uncommitted.length > 0 || report.unmerged_commits.length > 0)) {
    console.error("discarded (--force):");
    _listLoss(report.uncommitted, report.unmerged_commits, report.base_ref);
  }
  for (const warning of report.warnings) console.error(`warning: ${warning}`);
  console.log(
    `removed worktree ${report.label}${
      report.branch_deleted ? ` and branch ${report.branch}` : ""
    }`,
  );
  return 0;
}

function _listLoss(uncommitted: string[], commits: string[], base: string | null): void {
  if (uncommitted.length > 0) {
    console.error(`  uncommitted (${uncommitted.length}):`);
    for (const path of uncommitted.slice(0, 50)) console.error(`    ${path}`);
    if (uncommitted.length > 50) console.error(`    … and ${uncommitted.length - 50} more`);
  }
  if (commits.length > 0) {
    console.error(`  commits not in ${base} (${commits.length}):`);
    for (const line of commits.slice(0, 50)) console.error(`    ${line}`);
    if (commits.length > 50) console.error(`    … and ${commits.length - 50} more`);
  }
}
