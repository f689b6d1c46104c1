import { UserError } from "../cli/errors.ts";
import { diffPrinter } from "../cli/diff_printer.ts";
import { printError } from "../cli/output.ts";
import { recoverOrphans } from "../core/recovery.ts";
import { isEmptySpec, runTicketDiff, ticketDiffSpec } from "../core/review/ticket_diff.ts";
import { resolveReviewTicket, ticketHistory } from "../core/review/ticket_history.ts";
import { openTarget } from "../core/run_lookup.ts";

export interface DiffOptions {
  stat?: boolean;
}

/**
 * `cmcs diff <path> [ticket]`: exactly what a ticket changed, as git prints it — the diff from the
 * commit before its first attempt to the last commit its attempts made, plus the changes they
 * left uncommitted (auto-commit off, an attempt that did not end done) from the working tree.
 * Colour on a terminal only; never a pager; escapes in changed files are not passed on.
 */
export async function diff(
  path: string,
  ticketRef: string | undefined,
  opts: DiffOptions,
): Promise<number> {
  const opened = await openTarget(path);
  try {
    await recoverOrphans(opened.db);
    const target = opened.target!;
    if (!opened.project.isGit) {
      throw new UserError(`${opened.label} is not a git repository, so cmcs has no diff of it`, {
        hint: `see what the worker did with \`cmcs logs ${opened.label}\``,
      });
    }
    const ticket = resolveReviewTicket(opened.db, target, opened.label, ticketRef);
    const history = ticketHistory(opened.db, target, ticket)!;
    const spec = await ticketDiffSpec(target, history);
    if (isEmptySpec(spec)) {
      const running = history.attempts.at(-1)?.outcome === null;
      printError(
        running
          ? `${ticket} is still running and has not changed anything yet`
          : `${ticket} changed no files (nothing committed, nothing left uncommitted)`,
      );
      return 0;
    }
    const args = ["--no-color"];
    if (opts.stat) args.push("--stat");
    const out = await runTicketDiff(target, spec, { args, stdout: diffPrinter() });
    if (out.code !== 0) {
      const detail = out.stderr.trim().split("\n").slice(-2).join(" / ");
      throw new UserError(`git diff failed for ${ticket}: ${detail || `exit ${out.code}`}`, {
        hint: `the commits ${spec.from?.slice(0, 8) ?? "(root)"}..${
          spec.to?.slice(0, 8) ?? "(working tree)"
        } may no longer exist (rebased or garbage-collected)`,
      });
    }
    return 0;
  } finally {
    opened.db.close();
  }
}
