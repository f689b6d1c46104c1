import { relative } from "../core/path.ts";
import { EXIT, UsageError, UserError } from "../cli/errors.ts";
import { formatTable, print, printError, printJson } from "../cli/output.ts";
import { printReport, type Report } from "../cli/report.ts";
import { lineDisplay, liveView } from "../cli/live_view.ts";
import { loadConfig } from "../core/config.ts";
import { Database } from "../core/db/database.ts";
import { processStartToken } from "../core/process_identity.ts";
import { useProcReader } from "../core/proc_reader.ts";
import { type Project, requireProject, resolveTarget } from "../core/project.ts";
import { recoverOrphans } from "../core/recovery.ts";
import { busyReason, runTargets, type TargetOutcome } from "../core/runner/parallel.ts";
import { StopController } from "../core/runner/stop_control.ts";
import {
  discoverTickets,
  requireTicketsDir,
  resolveTicketsDir,
  ticketQueue,
} from "../core/tickets.ts";
import type { Config } from "../core/config.ts";

export interface RunOptions {
  dryRun?: boolean;
  json?: boolean;
  /** Every registered target (main checkout and worktrees) that has a ticket to run. */
  all?: boolean;
  /** Start the runs in a background broker, print their ids and return. */
  detach?: boolean;
}

interface PreparedTarget {
  target: string;
  project: Project;
  config: Config;
  ticketsDir: string;
  label: string;
}

/** `cmcs run [paths...]`: runs each target's tickets; exit 0 only when every run completed. */
export async function run(paths: string[], opts: RunOptions): Promise<number> {
  if (opts.all && paths.length > 0) {
    throw new UsageError(
      "give target paths or --all, not both",
      "`cmcs run --all` runs every registered target that has a ticket to run",
    );
  }
  const { runnableTargets } = await import("../core/worktrees/select.ts");
  let targets = await prepareTargets(
    opts.all ? await runnableTargets(Deno.cwd()) : paths.length > 0 ? paths : ["."],
  );
  if (opts.dryRun) return await dryRun(targets, opts);
  // The broker reads its workers' /proc entries through one helper, not a process per look.
  useProcReader();
  targets = await refuseBusy(targets, Boolean(opts.all));
  if (opts.all && targets.length === 0) {
    if (opts.json) printJson({ runs: [] });
    else print("nothing to run: no registered target has a ticket to run");
    return EXIT.ok;
  }
  if (opts.detach) return printReport(await detach(targets, opts), opts.json);

  const stop = new StopController();
  let interrupted = false;
  const onSignal = (signal: Deno.Signal) => () => {
    interrupted = true;
    stop.request("stopped", `interrupted by ${signal}`);
  };
  const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as Deno.Signal[]).map((s) =>
    [s, onSignal(s)] as const
  );
  for (const [signal, handler] of handlers) {
    try {
      Deno.addSignalListener(signal, handler);
    } catch { /* not supported on this platform */ }
  }
  const live = !opts.json && targets.length > 1 && Deno.stdout.isTerminal();
  const display = live
    ? liveView(targets)
    : lineDisplay(targets, opts.json ? (line) => printError(line) : (line) => print(line));
  const broker = { pid: Deno.pid, start: processStartToken(Deno.pid) };
  let outcomes: TargetOutcome[];
  try {
    outcomes = await runTargets({
      targets,
      broker,
      stop,
      progress: display.progress,
      report: display.note,
      onQueued: (t) => display.queued(t.target),
    });
  } finally {
    display.close();
    for (const [signal, handler] of handlers) {
      try {
        Deno.removeSignalListener(signal, handler);
      } catch { /* ignore */ }
    }
  }
  for (const o of outcomes) {
    if (o.error) printError(`error: ${o.error}`);
    else if (live && o.result && o.result.status !== "completed") {
      print(
        `run ${o.result.run.id} (${o.target.label}) ${o.result.status}: ${o.result.message}`,
      );
    }
  }
  if (opts.json) {
    printJson({
      runs: outcomes.map((o) => ({
        run_id: o.result?.run.id ?? null,
        target: o.target.target,
        status: o.result?.status ?? "not_started",
        message: o.result?.message ?? o.error,
        tickets: o.result?.tickets ?? [],
      })),
    });
  }
  if (interrupted) return EXIT.interrupted;
  return outcomes.every((o) => o.result?.status === "completed") ? EXIT.ok : EXIT.failed;
}

/**
 * Drops (with `--all`, noting each) or refuses (named targets) targets that another live broker
 * is running or has queued, before anything starts.
 */
async function refuseBusy(targets: PreparedTarget[], skip: boolean): Promise<PreparedTarget[]> {
  const free: PreparedTarget[] = [];
  for (const t of targets) {
    const db = Database.open(t.project.dbPath);
    let reason: string | null;
    try {
      await recoverOrphans(db);
      reason = busyReason(db, t.target, t.label);
    } finally {
      db.close();
    }
    if (!reason) free.push(t);
    else if (skip) printError(`skipping ${reason}`);
    else {
      throw new UserError(reason, {
        hint: `wait for it with \`cmcs wait ${t.label}\` or stop it with \`cmcs stop ${t.label}\``,
      });
    }
  }
  return free;
}

/** The runs `cmcs run --detach` started, as its JSON document. */
export interface DetachedRuns {
  broker_pid: number | null;
  log: string | null;
  runs: { run_id: number | null; target: string; status: string }[];
}

/**
 * `cmcs run --detach [paths... | --all]` without printing: checks the targets (tickets directory,
 * no live run), starts one background broker for them and reports its runs.
 */
export async function runDetachedReport(
  paths: string[],
  opts: { all?: boolean },
): Promise<Report<DetachedRuns>> {
  if (opts.all && paths.length > 0) {
    throw new UsageError(
      "give target paths or --all, not both",
      "`cmcs run --all` runs every registered target that has a ticket to run",
    );
  }
  const { runnableTargets } = await import("../core/worktrees/select.ts");
  const targets = await refuseBusy(
    await prepareTargets(
      opts.all ? await runnableTargets(Deno.cwd()) : paths.length > 0 ? paths : ["."],
    ),
    Boolean(opts.all),
  );
  if (targets.length === 0) {
    return {
      code: EXIT.ok,
      data: { broker_pid: null, log: null, runs: [] },
      text: ["nothing to run: no registered target has a ticket to run"],
    };
  }
  return await detach(targets, opts);
}

/** `run --detach`: hands the targets to a background broker and reports its runs. */
async function detach(
  targets: PreparedTarget[],
  opts: { all?: boolean },
): Promise<Report<DetachedRuns>> {
  const { startDetachedBroker } = await import("../core/runner/detach.ts");
  const started = await startDetachedBroker({
    cwd: Deno.cwd(),
    logsDir: targets[0].project.logsDir,
    targets: targets.map((t) => ({ target: t.target, label: t.label, dbPath: t.project.dbPath })),
  });
  const text = started.runs.map((r) =>
    r.run_id === null ? `queued ${r.label}` : `run ${r.run_id} started on ${r.label}`
  );
  text.push(`in the background (broker pid ${started.pid}, log ${started.log})`);
  text.push(
    `wait with \`cmcs wait ${opts.all ? "--all" : started.runs.map((r) => r.label).join(" ")}\``,
  );
  return {
    code: EXIT.ok,
    data: {
      broker_pid: started.pid,
      log: started.log,
      runs: started.runs.map((r) => ({ run_id: r.run_id, target: r.target, status: r.status })),
    },
    text,
  };
}

async function prepareTargets(paths: string[]): Promise<PreparedTarget[]> {
  const prepared: PreparedTarget[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    const target = await resolveTarget(path);
    if (seen.has(target)) continue;
    seen.add(target);
    const project = await requireProject(target);
    const { config, warnings } = await loadConfig(project);
    for (const warning of warnings) printError(`warning: ${warning}`);
    const label = relative(project.root, target) || ".";
    const ticketsDir = resolveTicketsDir(target, config.tickets.dir);
    await requireTicketsDir(ticketsDir, config.tickets.dir);
    prepared.push({ target, project, config, ticketsDir, label });
  }
  return prepared;
}

async function dryRun(targets: PreparedTarget[], opts: RunOptions): Promise<number> {
  const report = [];
  let problems = 0;
  for (const t of targets) {
    const queue = ticketQueue(await discoverTickets(t.ticketsDir));
    const dispatch = queue.dispatch.map((ticket) => ({
      ticket: ticket.id,
      title: ticket.title,
      model: ticket.model ?? t.config.codex.model,
      reasoning_effort: ticket.reasoning_effort ?? t.config.codex.reasoning_effort,
      timeout_s: ticket.timeout_s ?? t.config.codex.timeout_s,
    }));
    const skipped = queue.skipped.map((ticket) => ({ ticket: ticket.id, agent: ticket.agent }));
    let blockedBy: { file: string; line: number | null; message: string } | null = null;
    if (queue.blockedBy) {
      const p = queue.blockedBy.problems[0];
      blockedBy = {
        file: queue.blockedBy.file,
        line: p?.line ?? null,
        message: p?.message ?? "malformed",
      };
      problems++;
    }
    report.push({ target: t.target, dispatch, skipped, blocked_by: blockedBy });
  }
  if (opts.json) {
    printJson({ dry_run: true, targets: report });
  } else {
    for (const [i, r] of report.entries()) {
      if (targets.length > 1) print(`${targets[i].label}:`);
      if (r.dispatch.length === 0) {
        if (!r.blocked_by) print("nothing to run: every Codex ticket is done");
      } else {
        print(
          `would run ${r.dispatch.length} ticket${
            r.dispatch.length === 1 ? "" : "s"
          } in this order:`,
        );
        print(formatTable(
          ["TICKET", "MODEL", "EFFORT", "TITLE"],
          r.dispatch.map((
            d,
          ) => [
            d.ticket,
            d.model ?? "(codex default)",
            d.reasoning_effort ?? "(codex default)",
            d.title,
          ]),
        ));
      }
      for (const s of r.skipped) print(`skipping ${s.ticket} (agent: ${s.agent})`);
      if (r.blocked_by) {
        print(
          `a run would stop at ${r.blocked_by.file}${
            r.blocked_by.line ? `:${r.blocked_by.line}` : ""
          }: ${r.blocked_by.message}`,
        );
      }
    }
  }
  return problems > 0 ? EXIT.failed : EXIT.ok;
}
