import { EXIT } from "../cli/errors.ts";
import { listenForInterrupt } from "../cli/interrupt.ts";
import { print, printError, printJson } from "../cli/output.ts";
import { loadConfig } from "../core/config.ts";
import { Database } from "../core/db/database.ts";
import { requireProject } from "../core/project.ts";
import { createWorktree } from "../core/worktrees/create.ts";

export interface WorktreeCreateOptions {
  from?: string;
  tickets?: string;
  json?: boolean;
}

/**
 * `cmcs worktree create <branch>`: prints where the worktree is, what was copied into it and how
 * its setup went. Exit 1 when the setup command failed (the worktree is kept for inspection);
 * Ctrl-C during the setup ends it, with the same report, and exit 130.
 */
export async function worktreeCreate(branch: string, opts: WorktreeCreateOptions): Promise<number> {
  const project = await requireProject(Deno.cwd());
  const { config, warnings: configWarnings } = await loadConfig(project);
  for (const warning of configWarnings) printError(`warning: ${warning}`);
  const db = Database.open(project.dbPath);
  using interrupt = listenForInterrupt();
  let result;
  try {
    result = await createWorktree(project, config, db, {
      branch,
      from: opts.from,
      tickets: opts.tickets,
      signal: interrupt.signal,
    });
  } finally {
    db.close();
  }
  const setupFailed = result.setup !== null && !result.setup.ok;
  if (opts.json) {
    printJson(result);
  } else {
    const how = result.new_branch
      ? `new branch ${result.branch} from ${result.base_ref ?? result.head.slice(0, 8)}`
      : `existing branch ${result.branch}`;
    print(
      `created worktree ${result.label} (${how} at ${
        result.head.slice(0, 8)
      }, port ${result.port})`,
    );
    if (result.copied.length > 0) {
      print(`copied ${result.copied.length} ignored file(s): ${result.copied.join(", ")}`);
    }
    if (result.tickets.length > 0) {
      print(`copied ${result.tickets.length} ticket(s): ${result.tickets.join(", ")}`);
    }
    for (const warning of result.warnings) printError(`warning: ${warning}`);
    if (result.setup?.ok) {
      print(`setup ok (${result.setup.duration_s.toFixed(1)}s): ${result.setup.command}`);
    }
  }
  if (setupFailed) {
    const setup = result.setup!;
    if (!opts.json && setup.output_tail) printError(setup.output_tail);
    printError(
      `error: the setup command failed (${setup.outcome}): ${setup.command}`,
    );
    printError(
      `hint: the worktree is kept at ${result.path} for inspection; full output in ${setup.log}`,
    );
    return interrupt.signal.aborted ? EXIT.interrupted : EXIT.failed;
  }
  if (!opts.json) print(`run its tickets with \`cmcs run ${result.label}\``);
  return interrupt.signal.aborted ? EXIT.interrupted : EXIT.ok;
}
