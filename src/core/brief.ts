/**
 * The state of a repository's cmcs work in a few lines, for an orchestrator that starts a new
 * session: what is running, which tickets are finished and wait for review, what failed. Built to
 * run in a session-start hook, so it only reads: the database is opened read-only, no orphan
 * recovery runs (that may signal processes) and nothing is created or migrated.
 */
import { relative } from "./path.ts";
import { Database } from "./db/database.ts";
import { runningRuns } from "./db/runs.ts";
import { queryRunSummaries, type RunSummary } from "./db/status_query.ts";
import { runTicketOutcomes } from "./db/ticket_outcomes.ts";
import type { Outcome, RunStatus } from "./db/types.ts";
import { sameProcessesAlive } from "./process_identity.ts";
import { reviewQueue } from "./review/review_queue.ts";
import { findProjectQuick, isDirectory } from "./project.ts";

/** Targets looked at: the newest run of each, newest first. */
const MAX_TARGETS = 50;

export interface BriefActiveRun {
  run_id: number;
  target: string;
  /** The target as a path relative to the directory the brief was asked in (`.` for itself). */
  path: string;
  current_ticket: string | null;
  tickets: RunSummary["tickets"];
  duration_s: number;
  /**
   * False when the broker process is gone but no command has marked the run `interrupted` yet
   * (the brief never does: that recovery ends leftover workers, and a brief only reads).
   */
  broker_alive: boolean;
}

/**
 * A ticket whose latest attempt ended `done`: every one awaiting review (in any run), and those
 * of the newest run of each target that were accepted already.
 */
export interface BriefFinishedTicket {
  run_id: number;
  target: string;
  path: string;
  ticket: string;
  title: string | null;
  state: "awaiting_review" | "accepted";
  finished_at: string | null;
}

/** The newest run of a target when it did not complete, with the ticket it ended on. */
export interface BriefFailedRun {
  run_id: number;
  target: string;
  path: string;
  status: RunStatus;
  ticket: string | null;
  outcome: Outcome | null;
  message: string | null;
}

export interface Brief {
  /** The main checkout whose `.cmcs/` was read. */
  project: string;
  active: BriefActiveRun[];
  finished: BriefFinishedTicket[];
  failed: BriefFailedRun[];
}

/**
 * The brief of the repository `dir` belongs to, or null when it has no `.cmcs/` (or `dir` is not
 * a usable directory): a hook then prints nothing. A `.cmcs/` without a database yet gives an
 * empty brief. Worktrees whose directory is gone (cleaned up, merged) are left out.
 */
export async function readBrief(dir: string): Promise<Brief | null> {
  let project;
  try {
    // Read-only, at every session start: no git process when dir is a main checkout.
    project = await findProjectQuick(dir);
  } catch {
    return null;
  }
  if (!isDirectory(project.cmcsDir)) return null;
  const brief: Brief = { project: project.root, active: [], finished: [], failed: [] };
  const db = Database.openReadOnly(project.dbPath);
  if (!db) return brief;
  try {
    const here = await Deno.realPath(dir);
    const latest: RunSummary[] = [];
    for (const run of queryRunSummaries(db, { latest: true, limit: MAX_TARGETS })) {
      if (isDirectory(run.target)) latest.push(run);
    }
    const pathOf = (target: string) => relative(here, target) || ".";
    const alive = brokersAlive(db);
    const outcomes = runTicketOutcomes(db, latest.map((run) => run.id));
    const latestIds = new Set(latest.map((run) => run.id));
    for (const t of reviewQueue(db)) {
      if (t.state === "sent_back") continue;
      if (t.state === "accepted" && !latestIds.has(t.run_id)) continue;
      brief.finished.push({
        run_id: t.run_id,
        target: t.target,
        path: pathOf(t.target),
        ticket: t.ticket,
        title: t.title,
        state: t.state,
        finished_at: t.finished_at,
      });
    }
    for (const run of latest) {
      const path = pathOf(run.target);
      const tickets = outcomes.filter((o) => o.run_id === run.id);
      if (run.status === "running") {
        brief.active.push({
          run_id: run.id,
          target: run.target,
          path,
          current_ticket: run.current_ticket?.replace(/\.md$/, "") ?? null,
          tickets: run.tickets,
          duration_s: run.duration_s,
          broker_alive: alive.get(run.id) ?? false,
        });
      } else if (run.status !== "completed") {
        const failing = tickets.find((o) => o.outcome !== null && o.outcome !== "done") ?? null;
        brief.failed.push({
          run_id: run.id,
          target: run.target,
          path,
          status: run.status,
          ticket: failing?.ticket ?? null,
          outcome: failing?.outcome ?? null,
          message: failing?.message ?? run.message,
        });
      }
    }
    // Oldest first within a target, as the tickets ran; targets newest run first.
    brief.finished.sort((a, b) => b.run_id - a.run_id || a.ticket.localeCompare(b.ticket));
    return brief;
  } finally {
    db.close();
  }
}

/** Whether each running run's broker still runs (pid and start time), with at most one `cat`. */
function brokersAlive(db: Database): Map<number, boolean> {
  const runs = runningRuns(db);
  const alive = sameProcessesAlive(
    runs.map((run) => ({ pid: run.broker_pid, start: run.broker_start })),
  );
  return new Map(runs.map((run, i) => [run.id, alive[i]]));
}
