import { formatDuration, print, printJson } from "../cli/output.ts";
import { type Brief, readBrief } from "../core/brief.ts";
import { stripControl } from "../core/sanitize.ts";

export interface BriefOptions {
  json?: boolean;
}

/** Tickets named per target on a `finished` line before the rest are counted. */
const TICKETS_PER_LINE = 8;
/** Longest failure message quoted; the full one is in `cmcs result`. */
const MESSAGE_CHARS = 160;

/**
 * `cmcs brief [path]`: this repository's cmcs state in a few lines (running runs, finished
 * tickets awaiting review, failed runs, each with the command to run next), for a Claude Code
 * session-start hook. Read-only and quick. Prints nothing and exits 0 when the repository has no
 * `.cmcs/`, so a hook installed for every project stays silent where cmcs is not used; with
 * `--json` it then prints `null`.
 */
export async function brief(path: string, opts: BriefOptions): Promise<number> {
  const state = await readBrief(path);
  if (opts.json) {
    printJson(state);
    return 0;
  }
  if (state) print(renderBrief(state).join("\n"));
  return 0;
}

/** The text form: a headline with the counts, then one line per item with its next command. */
export function renderBrief(state: Brief): string[] {
  const { active, failed } = state;
  const finished = state.finished.filter((t) => t.state === "awaiting_review");
  const accepted = state.finished.length - finished.length;
  const counts = [
    `${active.length} running`,
    `${finished.length} finished ticket${finished.length === 1 ? "" : "s"} awaiting review`,
    `${failed.length} failed run${failed.length === 1 ? "" : "s"}`,
  ];
  if (accepted > 0) counts.push(`${accepted} accepted in the latest runs`);
  const lines = [`cmcs (${state.project}): ${counts.join(", ")}`];
  for (const run of active) {
    const on = run.current_ticket ? ` on ${run.current_ticket}` : "";
    const facts = `${run.tickets.done} done, ${formatDuration(run.duration_s)}`;
    lines.push(
      run.broker_alive
        ? `running: run ${run.run_id} at ${run.path}${on} (${facts}); ` +
          `wait: \`cmcs wait ${run.path}\` (Bash run_in_background)`
        : `running: run ${run.run_id} at ${run.path}${on}, but its broker is gone; ` +
          `\`cmcs status\` marks it interrupted`,
    );
  }
  const byTarget = new Map<string, typeof finished>();
  for (const t of finished) byTarget.set(t.path, [...(byTarget.get(t.path) ?? []), t]);
  for (const [path, tickets] of byTarget) {
    const named = tickets.slice(0, TICKETS_PER_LINE).map((t) => t.ticket).join(", ");
    const more = tickets.length > TICKETS_PER_LINE
      ? ` and ${tickets.length - TICKETS_PER_LINE} more`
      : "";
    const runs = [...new Set(tickets.map((t) => t.run_id))].join(", ");
    lines.push(
      `finished: ${named}${more} at ${path} (run ${runs}); ` +
        `review: \`cmcs result ${path} ${tickets[0].ticket}\`, ` +
        `accept: \`cmcs accept ${path} ${tickets.map((t) => t.ticket).join(" ")}\``,
    );
  }
  for (const run of failed) {
    const where = run.ticket ? ` on ${run.ticket}` : "";
    const why = run.outcome ? ` (${run.outcome})` : "";
    const message = run.message ? `: ${oneLine(run.message)}` : "";
    const next = run.ticket
      ? `\`cmcs result ${run.path} ${run.ticket}\``
      : `\`cmcs status ${run.path}\``;
    lines.push(
      `${run.status}: run ${run.run_id} at ${run.path}${where}${why}${message}; see ${next}`,
    );
  }
  return lines;
}

function oneLine(text: string): string {
  const flat = stripControl(text).replace(/\s+/g, " ").trim();
  return flat.length > MESSAGE_CHARS ? `${flat.slice(0, MESSAGE_CHARS - 1)}…` : flat;
}
