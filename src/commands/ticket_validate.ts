import { formatTable, paint, printError } from "../cli/output.ts";
import { printReport, type Report } from "../cli/report.ts";
import { loadConfig } from "../core/config.ts";
import { requireProject, resolveTarget } from "../core/project.ts";
import { nearMissFields } from "../core/ticket_field_hints.ts";
import {
  discoverTickets,
  requireTicketsDir,
  resolveTicketsDir,
  ticketJson,
} from "../core/tickets.ts";

/**
 * `cmcs ticket validate [path]`: parses every ticket of the target (a repository or a linked
 * worktree; the config comes from the main checkout) and prints one line per ticket — `OK` and
 * its title, or each problem with its line — then a summary. Exit 1 when any ticket has a problem
 * (a malformed ticket is never dispatched), 0 otherwise, including when there are no tickets.
 */
export async function ticketValidate(path: string, opts: { json?: boolean }): Promise<number> {
  return printReport(await ticketValidateReport(path), opts.json);
}

/** Every ticket of the target with its problems, as `cmcs ticket validate` prints them. */
export async function ticketValidateReport(path: string): Promise<
  Report<{ tickets_dir: string; tickets: ReturnType<typeof ticketJson>[]; problems: number }>
> {
  const target = await resolveTarget(path);
  const project = await requireProject(target);
  const loaded = await loadConfig(project);
  for (const warning of loaded.warnings) printError(`warning: ${warning}`);
  const ticketsDir = resolveTicketsDir(target, loaded.config.tickets.dir);
  await requireTicketsDir(ticketsDir, loaded.config.tickets.dir);
  const entries = await discoverTickets(ticketsDir);
  const problemCount = entries.reduce((n, e) => n + (e.ok ? 0 : e.problems.length), 0);

  const data = {
    tickets_dir: ticketsDir,
    tickets: entries.map(ticketJson),
    problems: problemCount,
  };
  if (entries.length === 0) {
    return { code: 0, data, text: [`no tickets in ${ticketsDir}`] };
  }

  const rows: string[][] = [];
  for (const entry of entries) {
    if (entry.ok) {
      const { ticket } = entry;
      const notes = [
        ticket.done ? "(done)" : "",
        ticket.agent !== "codex" ? `(agent ${ticket.agent}: not run by cmcs)` : "",
        ...nearMissFields(ticket.fields).map((warning) => `(warning: ${warning})`),
      ].filter(Boolean);
      rows.push([
        ticket.file,
        paint("green", "OK"),
        [ticket.title || "(no title)", ...notes].join(" "),
      ]);
      continue;
    }
    for (const problem of entry.problems) {
      const where = problem.line === null ? "error:" : `line ${problem.line}:`;
      rows.push([entry.file, paint("red", where), problem.message]);
    }
  }
  const text = [formatTable(["", "", ""], rows).split("\n").slice(1).join("\n")];

  const bad = entries.filter((e) => !e.ok).length;
  const done = entries.filter((e) => e.ok && e.ticket.done).length;
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const summary = `${count(entries.length, "ticket")} in ${ticketsDir}: ` +
    `${entries.length - bad} OK (${done} done)` +
    (bad > 0 ? `, ${bad} with ${count(problemCount, "problem")}` : "");
  text.push(summary);
  return { code: bad > 0 ? 1 : 0, data, text };
}
