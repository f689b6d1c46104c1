import { printReport, type Report } from "../cli/report.ts";
import { requireProject, resolveTarget } from "../core/project.ts";
import { type AcceptResult, acceptTickets } from "../core/review/accept.ts";

export interface AcceptOptions {
  json?: boolean;
}

/**
 * `cmcs accept <path> TICKET...`: takes the work of tickets that ended `done` out of the review
 * queue. Exit 0 when every ticket is accepted (now or before), 1 when one is not done (then none
 * is accepted) or names no ticket that ran there.
 */
export async function accept(path: string, refs: string[], opts: AcceptOptions): Promise<number> {
  return printReport(await acceptReport(path, refs), opts.json);
}

/** Accepts the tickets (see {@link accept}) and reports them as `cmcs accept` prints them. */
export async function acceptReport(path: string, refs: string[]): Promise<Report<AcceptResult>> {
  const target = await resolveTarget(path);
  const project = await requireProject(target);
  const result = await acceptTickets(project, target, refs);
  const text = result.tickets.map((t) => {
    const title = t.title ? ` "${t.title}"` : "";
    return t.already
      ? `${t.ticket}${title} was already accepted (${t.accepted_at}); nothing changed`
      : `accepted ${t.ticket}${title} (run ${t.run_id})`;
  });
  return { code: 0, data: result, text };
}
