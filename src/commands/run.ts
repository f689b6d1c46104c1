import { relative } from "node:path";
import { EXIT, UserError } from "../cli/errors.ts";
import { formatTable, printJson } from "../cli/output.ts";
import { progressPrinter } from "../cli/progress_printer.ts";
import { loadConfig } from "../core/config.ts";
import { Database } from "../core/db/database.ts";
import { TargetBusyError } from "../core/db/runs.ts";
import { registerWorktree } from "../core/db/worktrees.ts";
import { currentBranch } from "../core/git.ts";
import { processStartToken } from "../core/process_identity.ts";
import { type Project, realDir, requireProject } from "../core/project.ts";
import { recoverOrphans } from "../core/recovery.ts";
import type { Progress } from "../core/runner/progress.ts";
import { runTarget, type TargetRunResult } from "../core/runner/run_target.ts";
import { StopController } from "../core/runner/stop_control.ts";
import { discoverTickets, resolveTicketsDir } from "../core/tickets.ts";
import type { Config } from "../core/config.ts";
import { basename } from "node:path";

export interface RunOptions {
  dryRun?: boolean;
  json?: boolean;
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
  const targets = await prepareTargets(paths.length > 0 ? paths : ["."]);
  if (opts.dryRun) return await dryRun(targets, opts);

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
  const write = opts.json
    ? (line: string) => console.error(line)
    : (line: string) => console.log(line);
  const printer = progressPrinter(
    write,
    targets.length > 1 ? (t) => targets.find((x) => x.target === t)?.label ?? t : () => null,
  );
  const broker = { pid: Deno.pid, start: processStartToken(Deno.pid) };
  let results: TargetRunResult[];
  try {
    results = await Promise.all(targets.map((t) => runOne(t, broker, stop, printer)));
  } finally {
    for (const [signal, handler] of handlers) {
      try {
        Deno.removeSignalListener(signal, handler);
      } catch { /* ignore */ }
    }
  }
  if (opts.json) {
    printJson({
      runs: results.map((r, i) => ({
        run_id: r.run.id,
        target: targets[i].target,
        status: r.status,
        message: r.message,
        tickets: r.tickets,
      })),
    });
  }
  if (interrupted) return EXIT.interrupted;
  return results.every((r) => r.status === "completed") ? EXIT.ok : EXIT.failed;
}

async function runOne(
  t: PreparedTarget,
  broker: { pid: number; start: string | null },
  stop: StopController,
  progress: (p: Progress) => void,
): Promise<TargetRunResult> {
  const db = Database.open(t.project.dbPath);
  try {
    await recoverOrphans(db);
    registerWorktree(db, t.target, (await currentBranch(t.target)) ?? basename(t.target));
    return await runTarget({
      db,
      project: t.project,
      config: t.config,
      target: t.target,
      ticketsDir: t.ticketsDir,
      broker,
      stop,
      progress,
    });
  } catch (error) {
    if (error instanceof TargetBusyError) {
      throw new UserError(
        `${t.label}: run ${error.run.id} is already running there (broker pid ${error.run.broker_pid})`,
        {
          hint:
            `wait for it with \`cmcs wait ${t.label}\` or stop it with \`cmcs stop ${error.run.id}\``,
        },
      );
    }
    throw error;
  } finally {
    db.close();
  }
}

async function prepareTargets(paths: string[]): Promise<PreparedTarget[]> {
  const prepared: PreparedTarget[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    const target = await realDir(path);
    if (seen.has(target)) continue;
    seen.add(target);
    const project = await requireProject(target);
    const { config, warnings } = await loadConfig(project);
    for (const warning of warnings) console.error(`warning: ${warning}`);
    const label = relative(project.root, target) || ".";
    prepared.push({
      target,
      project,
      config,
      ticketsDir: resolveTicketsDir(target, config.tickets.dir),
      label,
    });
  }
  return prepared;
}

async function dryRun(targets: PreparedTarget[], opts: RunOptions): Promise<number> {
  const report = [];
  let problems = 0;
  for (const t of targets) {
    const entries = await discoverTickets(t.ticketsDir);
    const dispatch = [];
    const skipped = [];
    let blockedBy: { file: string; line: number | null; message: string } | null = null;
    for (const entry of entries) {
      if (!entry.ok) {
        const p = entry.problems[0];
        blockedBy = { file: entry.file, line: p?.line ?? null, message: p?.message ?? "malformed" };
        problems++;
        break;
      }
      const ticket = entry.ticket;
      if (ticket.done) continue;
      if (ticket.agent !== "codex") {
        skipped.push({ ticket: ticket.id, agent: ticket.agent });
        continue;
      }
      dispatch.push({
        ticket: ticket.id,
        title: ticket.title,
        model: ticket.model ?? t.config.codex.model,
        reasoning_effort: ticket.reasoning_effort ?? t.config.codex.reasoning_effort,
        timeout_s: ticket.timeout_s ?? t.config.codex.timeout_s,
      });
    }
    report.push({ target: t.target, dispatch, skipped, blocked_by: blockedBy });
  }
  if (opts.json) {
    printJson({ dry_run: true, targets: report });
  } else {
    for (const [i, r] of report.entries()) {
      if (targets.length > 1) console.log(`${targets[i].label}:`);
      if (r.dispatch.length === 0) console.log("nothing to run: every Codex ticket is done");
      else {
        console.log(
          `would run ${r.dispatch.length} ticket${
            r.dispatch.length === 1 ? "" : "s"
          } in this order:`,
        );
        console.log(formatTable(
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
      for (const s of r.skipped) console.log(`skipping ${s.ticket} (agent: ${s.agent})`);
      if (r.blocked_by) {
        console.log(
          `a run would stop at ${r.blocked_by.file}${
            r.blocked_by.line ? `:${r.blocked_by.line}` : ""
          }: ${r.blocked_by.message}`,
        );
      }
    }
  }
  return problems > 0 ? EXIT.failed : EXIT.ok;
}
