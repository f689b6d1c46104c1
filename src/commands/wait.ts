import { relative } from "node:path";
import { EXIT } from "../cli/errors.ts";
import { formatDuration, paint, printJson, statusColor } from "../cli/output.ts";
import { getRun } from "../core/db/runs.ts";
import type { RunRow } from "../core/db/types.ts";
import { recoverOrphans } from "../core/recovery.ts";
import { type OpenedTarget, openTarget, resolveRun } from "../core/run_lookup.ts";
import { secondsBetween } from "../core/time.ts";

export interface WaitOptions {
  timeout?: number;
  json?: boolean;
  any?: boolean;
}

const POLL_MS = 200;

/**
 * `cmcs wait [paths...]`: blocks until the latest run of every target (or, with `--any`, of one
 * target) has ended. Exit 0 when all the runs waited for completed, 1 when one failed, was stopped
 * or interrupted, 124 on timeout. A broker that died is noticed (its run becomes `interrupted`).
 */
export async function wait(paths: string[], opts: WaitOptions): Promise<number> {
  const targets: (OpenedTarget & { run: RunRow })[] = [];
  try {
    for (const path of paths.length > 0 ? paths : ["."]) {
      const opened = await openTarget(path);
      await recoverOrphans(opened.db);
      targets.push({ ...opened, run: resolveRun(opened, null) });
    }
    const deadline = opts.timeout === undefined ? Infinity : Date.now() + opts.timeout * 1000;
    while (true) {
      for (const t of targets) {
        if (t.run.status === "running") {
          await recoverOrphans(t.db);
          t.run = getRun(t.db, t.run.id)!;
        }
      }
      const ended = targets.filter((t) => t.run.status !== "running");
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
  targets: (OpenedTarget & { run: RunRow })[],
  timedOut: boolean,
  opts: WaitOptions,
): number {
  const rows = targets.map((t) => {
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
      const head = `run ${row.run_id} (${row.label}) ${paint(statusColor(row.status), row.status)}`;
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
          rows.filter((r) => r.status === "running").length
        } run(s)`,
      );
    }
  }
  if (timedOut) return EXIT.timeout;
  const ended = rows.filter((r) => r.status !== "running");
  return ended.every((r) => r.status === "completed") ? EXIT.ok : EXIT.failed;
}
