import { relative } from "../core/path.ts";
import { EXIT, UsageError, UserError } from "../cli/errors.ts";
import { formatDuration, formatTokens, paint, statusColor } from "../cli/output.ts";
import { printReport, type Report } from "../cli/report.ts";
import { queryRunSummaries, type RunSummary } from "../core/db/status_query.ts";
import { getRun, latestRun } from "../core/db/runs.ts";
import type { RunRow } from "../core/db/types.ts";
import { runTicketOutcomes } from "../core/db/ticket_outcomes.ts";
import { recoverOrphans, throttledRecovery } from "../core/recovery.ts";
import { type OpenedTarget, openTarget, resolveRun } from "../core/run_lookup.ts";
import { liveQueueMark } from "../core/db/worktree_queue.ts";

export interface WaitOptions {
  timeout?: number;
  json?: boolean;
  any?: boolean;
  /** Every registered target that has a run or is queued. */
  all?: boolean;
}

/** What an in-process waiter (the MCP server) adds: progress while waiting, and cancellation. */
export interface WaitHooks {
  /** Called after every poll with how many of the targets waited for have ended. */
  onPoll?: (progress: { ended: number; total: number; running: string[] }) => void;
  /** Ends the wait early with an {@link WaitCancelled}; the runs are left running. */
  signal?: AbortSignal;
}

/** The wait was cancelled by its caller; nothing was changed. */
export class WaitCancelled extends Error {
  constructor() {
    super("the wait was cancelled; the runs keep running");
    this.name = "WaitCancelled";
  }
}

/** A run's summary; a queued or never-started target has `id: null` and no times. */
export type WaitedRun = Omit<RunSummary, "id" | "status" | "started_at" | "broker_pid"> & {
  id: number | null;
  status: string;
  started_at: string | null;
  broker_pid: number | null;
};

/** What `cmcs wait --json` prints. */
export interface WaitReport {
  timed_out: boolean;
  /** A queued or never-started target has a summary with `id: null`. */
  runs: WaitedRun[];
  next: string[];
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
  return printReport(await waitReport(paths, opts), opts.json);
}

/** Waits like {@link wait} and reports the runs in both forms; the report's code is wait's exit. */
export async function waitReport(
  paths: string[],
  opts: WaitOptions,
  hooks: WaitHooks = {},
): Promise<Report<WaitReport>> {
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
    // One throttled liveness check per database, however many targets share it.
    const recoveries = new Map<string, () => Promise<void>>();
    for (const t of targets) {
      if (!recoveries.has(t.db.path)) recoveries.set(t.db.path, throttledRecovery(t.db));
    }
    while (true) {
      for (const t of targets) {
        if (t.run?.status === "running") await recoveries.get(t.db.path)!();
      }
      for (const t of targets) {
        if (t.queued && liveQueueMark(t.db, t.target!) === null) {
          t.queued = false;
          // A run older than the queue mark means the broker ended before starting this target.
          const run = latestRun(t.db, t.target!) ?? null;
          t.run = run && run.started_at >= t.queuedAt! ? run : null;
        }
        if (t.run?.status === "running") t.run = getRun(t.db, t.run.id)!;
      }
      const ended = targets.filter((t) => !t.queued && t.run?.status !== "running");
      const done = opts.any ? ended.length > 0 : ended.length === targets.length;
      const timedOut = !done && Date.now() >= deadline;
      if (done || timedOut) return report(targets, timedOut, opts);
      hooks.onPoll?.({
        ended: ended.length,
        total: targets.length,
        running: targets.filter((t) => t.run?.status === "running")
          .map((t) =>
            `run ${t.run!.id} (${t.label})${
              t.run!.current_ticket ? ` on ${t.run!.current_ticket}` : ""
            }`
          ),
      });
      await pause(Math.min(POLL_MS, Math.max(0, deadline - Date.now())), hooks.signal);
    }
  } finally {
    for (const t of targets) t.db.close();
  }
}

/** Sleeps `ms`, or less when `signal` aborts (then throws {@link WaitCancelled}). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(new WaitCancelled());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new WaitCancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function report(
  targets: Waited[],
  timedOut: boolean,
  opts: WaitOptions,
): Report<WaitReport> {
  const rows = targets.map((t) => {
    if (!t.run) {
      return {
        label: t.label,
        summary: {
          id: null,
          target: t.target!,
          branch: null,
          status: t.queued ? "queued" : "not_started",
          started_at: null,
          finished_at: null,
          duration_s: 0,
          current_ticket: null,
          tickets: { started: 0, done: 0, failed: 0 },
          tokens: { input: 0, cached_input: 0, output: 0, reasoning: 0, total: 0 },
          message: t.queued ? "waiting for a run.max_parallel slot" : "the broker ended before it",
          broker_pid: null,
          worker_pid: null,
        },
      };
    }
    const [summary] = queryRunSummaries(t.db, { id: t.run.id, limit: 1 });
    const label = relative(t.project.root, t.run.worktree) || ".";
    const here = relative(Deno.realPathSync("."), t.run.worktree) || ".";
    return { label, summary, next: nextCommands(t, here, summary.status) };
  });
  const text: string[] = [];
  for (const { label, summary: run } of rows) {
    const head = `${run.id === null ? "no run" : `run ${run.id}`} (${label}) ${
      paint(statusColor(run.status), run.status)
    }`;
    const facts = `${run.tickets.done} done, ${run.tickets.failed} failed, ${
      formatDuration(run.duration_s)
    }${run.tokens.total ? `, ${formatTokens(run.tokens.total)} tokens` : ""}`;
    const tail = run.status === "running"
      ? (run.current_ticket ? `; working on ${run.current_ticket}` : "")
      : (run.message ? `: ${run.message}` : "");
    text.push(`${head} (${facts})${tail}`);
  }
  const next = rows.flatMap((row) => row.next ?? []);
  // After every target's line, so an agent reading only the end of the output finds them.
  for (const command of next) text.push(`next: ${command}`);
  const errText = timedOut
    ? [
      `error: timed out after ${opts.timeout}s waiting for ${
        rows.filter((r) => r.summary.status === "running" || r.summary.status === "queued").length
      } run(s)`,
    ]
    : [];
  const data = { timed_out: timedOut, runs: rows.map((row) => row.summary), next };
  if (timedOut) return { code: EXIT.timeout, data, text, errText };
  const ended = rows.filter((r) => r.summary.status !== "running" && r.summary.status !== "queued");
  const code = ended.every((r) => r.summary.status === "completed") ? EXIT.ok : EXIT.failed;
  return { code, data, text, errText };
}

/** Tickets named with a `next: cmcs result …` line per target before pointing at `cmcs status`. */
const MAX_NEXT_PER_TARGET = 10;

/**
 * What to run after the wait, per target: the review packet of every ticket the run attempted
 * (done ones to review, the failing one to read why), in the order they ran; `cmcs wait` again
 * for a run still going. Paths are relative to the current directory, so the lines can be run
 * as they are.
 */
function nextCommands(t: Waited, label: string, status: string): string[] {
  if (status === "running") return [`cmcs wait ${label}`];
  const tickets = runTicketOutcomes(t.db, [t.run!.id]).filter((o) => o.outcome !== null);
  const next = tickets.slice(0, MAX_NEXT_PER_TARGET).map((o) => `cmcs result ${label} ${o.ticket}`);
  if (tickets.length > MAX_NEXT_PER_TARGET) next.push(`cmcs status ${label}`);
  return next;
}
