import { relative } from "node:path";
import { EXIT, UsageError, UserError } from "../cli/errors.ts";
import { formatDuration, paint, printJson, statusColor } from "../cli/output.ts";
import { getRun, latestRun } from "../core/db/runs.ts";
import type { RunRow } from "../core/db/types.ts";
import { recoverOrphans } from "../core/recovery.ts";
import { type OpenedTarget, openTarget, resolveRun } from "../core/run_lookup.ts";
import { secondsBetween } from "../core/time.ts";
import { liveQueueMark } from "../core/worktrees/queue.ts";

export interface WaitOptions {
  timeout?: number;
  json?: boolean;
  any?: boolean;
  /** Every registered target that has a run or is queued. */
  all?: boolean;
}

/** A target waited for: its run, or none yet while it is queued by a live broker. */
type Waited = OpenedTarget & { run: RunRow | null; queued: boolean; queuedAt: string | null };

const POLL_MS = 200;

/**
 * `cmcs wait [paths...]`: blocks until the latest run of every target (or, with `--any`, of one
 * target) has ended. Exit 0 when all the runs waited for completed, 1 when one failed, was stopped
 * or interrupted, 124 on timeout. A broker that died is noticed (its run becomes `interrupted`).
 */
export async function wait(paths: string[], opts: WaitOptions): Promise<number> {
  if (opts.all && paths.length > 0) throw new UsageError("give target paths or --all, not both");
  const targets: Waited[] = [];
  try {
    let selected = paths.length > 0 ? paths : ["."];
    if (opts.all) {
      selected = await (await import("../core/worktrees/select.ts")).waitableTargets(Deno.cwd());
      if (selected.length === 0) {
        throw new UserError("no registered target has a run yet", {
          hint: "start runs with `cmcs run --all` or `cmcs run <path>...`",
        });
      }
    }
    for (const path of selected) {
      const opened = await openTarget(path);
      await recoverOrphans(opened.db);
      const mark = liveQueueMark(opened.db, opened.target!);
      targets.push({
        ...opened,
        queued: mark !== null,
        queuedAt: mark?.queued_at ?? null,
        run: mark ? null : resolveRun(opened, null),
      });
    }
    const deadline = opts.timeout === undefined ? Infinity : Date.now() + opts.timeout * 1000;
    while (true) {
      for (const t of targets) {
        if (t.queued && liveQueueMark(t.db, t.target!) === null) {
          t.queued = false;
          // A run older than the queue mark means the broker ended before starting this target.
          const run = latestRun(t.db, t.target!) ?? null;
          t.run = run && run.started_at >= t.queuedAt! ? run : null;
        }
        if (t.run?.status === "running") {
          await recoverOrphans(t.db);
          t.run = getRun(t.db, t.run.id)!;
        }
      }
      const ended = targets.filter((t) => !t.queued && t.run?.status !== "running");
      const done = opts.any ? ended.length > 0 : ended.length === targets.length;
      const timedOut = !done && Date.now() >= deadline;
      if (done || timedOut) return report(targets, timedOut, opts);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now())))
      );
    }
  } finally {
    for (const t of targets) t.db.close();
  }
}

function report(
  targets: Waited[],
  timedOut: boolean,
  opts: WaitOptions,
): number {
  const rows = targets.map((t) => {
    if (!t.run) {
      return {
        run_id: null,
        target: t.target!,
        label: t.label,
        status: t.queued ? "queued" : "not_started",
        message: t.queued ? "waiting for a run.max_parallel slot" : "the broker ended before it",
        current_ticket: null,
        duration_s: 0,
        tickets_done: 0,
        tickets_failed: 0,
      };
    }
    const counts = t.db.get<{ done: number; failed: number }>(
      `SELECT COUNT(DISTINCT CASE WHEN outcome = 'done' THEN ticket END) AS done,
              COUNT(DISTINCT CASE WHEN outcome IS NOT NULL AND outcome != 'done' THEN ticket END) AS failed
       FROM attempts WHERE run_id = ?`,
      t.run.id,
    )!;
    return {
      run_id: t.run.id,
      target: t.run.worktree,
      label: relative(t.project.root, t.run.worktree) || ".",
      status: t.run.status,
      message: t.run.message,
      current_ticket: t.run.current_ticket,
      duration_s: secondsBetween(t.run.started_at, t.run.finished_at),
      tickets_done: counts.done,
      tickets_failed: counts.failed,
    };
  });
  if (opts.json) {
    printJson({ timed_out: timedOut, runs: rows.map(({ label: _label, ...row }) => row) });
  } else {
    for (const row of rows) {
      const head = `${row.run_id === null ? "no run" : `run ${row.run_id}`} (${row.label}) ${
        paint(statusColor(row.status), row.status)
      }`;
      const facts = `${row.tickets_done} done, ${row.tickets_failed} failed, ${
        formatDuration(row.duration_s)
      }`;
      const tail = row.status === "running"
        ? (row.current_ticket ? `; working on ${row.current_ticket}` : "")
        : (row.message ? `: ${row.message}` : "");
      console.log(`${head} (${facts})${tail}`);
    }
    if (timedOut) {
      console.error(
        `error: timed out after ${opts.timeout}s waiting for ${
          rows.filter((r) => r.status === "running" || r.status === "queued").length
        } run(s)`,
      );
    }
  }
  if (timedOut) return EXIT.timeout;
  const ended = rows.filter((r) => r.status !== "running" && r.status !== "queued");
  return ended.every((r) => r.status === "completed") ? EXIT.ok : EXIT.failed;
}
