import { EXIT } from "../cli/errors.ts";
import { listenForInterrupt } from "../cli/interrupt.ts";
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
 * listing the uncommitted paths and the commits no other ref reaches, which would be lost. With
 * `--force` it says where it kept them and how to bring them back. Ctrl-C during the `archive`
 * command ends it and removes nothing (exit 130).
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
    printError(
      `error: not removing ${report.label} (branch ${report.branch}): ${report.refused}`,
    );
    _listLoss(report.uncommitted, report.unreachable_commits);
    if (report.archive && !report.archive.ok && report.archive.output_tail) {
      printError(report.archive.output_tail);
    }
    printError(
      `hint: commit and merge or push what you want to keep; \`cmcs worktree cleanup ${report.branch} --force\` removes it anyway, saving it under refs/cmcs/saved/`,
    );
    return failed;
  }
  if (report.forced && (report.uncommitted.length > 0 || report.unreachable_commits.length > 0)) {
    printError("removed (--force), and saved under the ref below:");
    _listLoss(report.uncommitted, report.unreachable_commits);
  }
  for (const warning of report.warnings) printError(`warning: ${warning}`);
  print(
    `removed worktree ${report.label}${
      report.branch_deleted ? ` and branch ${report.branch}` : ""
    }`,
  );
  if (report.saved) {
    print(`saved what it discarded as ${report.saved.ref}; to restore it:`);
    print(`  ${report.saved.restore}`);
    for (const ref of report.saved.also) print(`also saved the branch's own tip as ${ref}`);
  }
  return 0;
}

function _listLoss(uncommitted: string[], commits: string[]): void {
  if (uncommitted.length > 0) {
    printError(`  uncommitted (${uncommitted.length}):`);
    for (const path of uncommitted.slice(0, 50)) printError(`    ${path}`);
    if (uncommitted.length > 50) printError(`    … and ${uncommitted.length - 50} more`);
  }
  if (commits.length > 0) {
    printError(`  commits no other branch, tag or worktree reaches (${commits.length}):`);
    for (const line of commits.slice(0, 50)) printError(`    ${line}`);
    if (commits.length > 50) printError(`    … and ${commits.length - 50} more`);
  }
}
