import { basename, dirname, relative, sep } from "./path.ts";
import { TICKET_FILE } from "./tickets.ts";

/**
 * Leaves out of an attempt's changes what the orchestrator, not the worker, wrote meanwhile: the
 * other tickets (Claude writes the next ones while a run goes on) and cmcs's own files under
 * `.cmcs/`. They stay uncommitted for their own ticket or for the user; this ticket's file stays in.
 */
export function withoutBrokerFiles<T extends { paths: string[]; touchedPreexisting: string[] }>(
  changes: T,
  target: string,
  ticket: { path: string },
): T {
  const posix = (path: string) => path.split(sep).join("/");
  const own = posix(relative(target, ticket.path));
  const ticketsDir = posix(relative(target, dirname(ticket.path)));
  const notTheWorkers = (path: string) =>
    path !== own &&
    (path.startsWith(".cmcs/") ||
      (posix(dirname(path)) === ticketsDir && TICKET_FILE.test(basename(path))));
  const keep = (paths: string[]) => paths.filter((path) => !notTheWorkers(path));
  return {
    ...changes,
    paths: keep(changes.paths),
    touchedPreexisting: keep(changes.touchedPreexisting),
  };
}
