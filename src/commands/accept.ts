import { print, printJson } from "../cli/output.ts";
import { requireProject, resolveTarget } from "../core/project.ts";
import { acceptTickets } from "../core/review/accept.ts";

export interface AcceptOptions {
  json?: boolean;
}

/**
 * `cmcs accept <path> TICKET...`: takes the work of tickets that ended `done` out of the review
 * queue. Exit 0 when every ticket is accepted (now or before), 1 when one is not done (then none
 * is accepted) or names no ticket that ran there.
 */
export async function accept(path: string, refs: string[], opts: AcceptOptions): Promise<number> {
  const target = await resolveTarget(path);
  const project = await requireProject(target);
  const result = await acceptTickets(project, target, refs);
  if (opts.json) {
    printJson(result);
    return 0;
  }
  for (const t of result.tickets) {
    const title = t.title ? ` "${t.title}"` : "";
    print(
      t.already
        ? `${t.ticket}${title} was already accepted (${t.accepted_at}); nothing changed`
        : `accepted ${t.ticket}${title} (run ${t.run_id})`,
    );
  }
  return 0;
}
