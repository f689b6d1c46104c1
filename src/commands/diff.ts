import { UserError } from "../cli/errors.ts";
import { diffPrinter } from "../cli/diff_printer.ts";
import { printError } from "../cli/output.ts";
import type { Report } from "../cli/report.ts";
import { recoverOrphans } from "../core/recovery.ts";
import {
  isEmptySpec,
  runTicketDiff,
  type TicketDiffSpec,
  ticketDiffSpec,
} from "../core/review/ticket_diff.ts";
import { resolveReviewTicket, ticketHistory } from "../core/review/ticket_history.ts";
import { openTarget } from "../core/run_lookup.ts";
import { commandPath, shellWord } from "../core/command_words.ts";

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
  await withTicketSpan(path, ticketRef, async (span) => {
    if (span.empty) {
      printError(span.empty);
      return;
    }
    const args = ["--no-color", ...(opts.stat ? ["--stat"] : [])];
    const out = await runTicketDiff(span.target, span.spec, { args, stdout: diffPrinter() });
    checkGit(span, out);
  });
  return 0;
}

/** What `diffReport` returns as data: the diff text and whether (and where) it was cut. */
export interface DiffReport {
  ticket: string;
  /** Null when the ticket changed nothing (then `text` says why). */
  diff: string | null;
  truncated: boolean;
  /** Characters of the whole diff. */
  total_chars: number;
}

/**
 * The diff `cmcs diff` prints, captured and cut after `maxChars` at a line end, for a caller
 * that cannot page through a large diff (an MCP client). The last line says how much was cut
 * and the command that shows the rest.
 */
export async function diffReport(
  path: string,
  ticketRef: string | undefined,
  opts: DiffOptions & { maxChars: number },
): Promise<Report<DiffReport>> {
  return await withTicketSpan(path, ticketRef, async (span) => {
    if (span.empty) {
      return {
        code: 0,
        data: { ticket: span.ticket, diff: null, truncated: false, total_chars: 0 },
        text: [span.empty],
      };
    }
    const args = ["--no-color", ...(opts.stat ? ["--stat"] : [])];
    const out = await runTicketDiff(span.target, span.spec, { args, stdout: "piped" });
    checkGit(span, out);
    const whole = out.stdout;
    let shown = whole;
    if (whole.length > opts.maxChars) {
      const cut = whole.lastIndexOf("\n", opts.maxChars);
      shown = whole.slice(0, cut > 0 ? cut + 1 : opts.maxChars);
    }
    const truncated = shown.length < whole.length;
    const text = [shown.replace(/\n$/, "")];
    if (truncated) {
      const command = `cmcs diff ${shellWord(commandPath(span.target))} ${shellWord(span.ticket)}`;
      text.push(
        `… cut after ${shown.length} of ${whole.length} characters; ` +
          `the whole diff: \`${command}\`${
            opts.stat ? "" : `, the files only: \`${command} --stat\``
          }`,
      );
    }
    return {
      code: 0,
      data: { ticket: span.ticket, diff: shown, truncated, total_chars: whole.length },
      text,
    };
  });
}

interface TicketSpan {
  target: string;
  ticket: string;
  spec: TicketDiffSpec;
  /** Why there is nothing to show, when there is not. */
  empty: string | null;
}

/** Opens the target, finds the ticket's span of commits and hands it to `use`. */
async function withTicketSpan<T>(
  path: string,
  ticketRef: string | undefined,
  use: (span: TicketSpan) => Promise<T>,
): Promise<T> {
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
    let empty: string | null = null;
    if (isEmptySpec(spec)) {
      const running = history.attempts.at(-1)?.outcome === null;
      empty = running
        ? `${ticket} is still running and has not changed anything yet`
        : `${ticket} changed no files (nothing committed, nothing left uncommitted)`;
    }
    return await use({ target, ticket, spec, empty });
  } finally {
    opened.db.close();
  }
}

function checkGit(span: TicketSpan, out: { code: number; stderr: string }): void {
  if (out.code === 0) return;
  const detail = out.stderr.trim().split("\n").slice(-2).join(" / ");
  throw new UserError(`git diff failed for ${span.ticket}: ${detail || `exit ${out.code}`}`, {
    hint: `the commits ${span.spec.from?.slice(0, 8) ?? "(root)"}..${
      span.spec.to?.slice(0, 8) ?? "(working tree)"
    } may no longer exist (rebased or garbage-collected)`,
  });
}
