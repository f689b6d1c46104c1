import { basename, relative } from "../core/path.ts";
import { EXIT, UsageError, UserError } from "../cli/errors.ts";
import { readAtMost } from "../core/bounded_read.ts";
import { print, printError, printJson } from "../cli/output.ts";
import type { Report } from "../cli/report.ts";
import { busyReason } from "../core/runner/parallel.ts";
import { progressPrinter } from "../cli/progress_printer.ts";
import { loadConfig } from "../core/config.ts";
import { Database } from "../core/db/database.ts";
import { TargetBusyError } from "../core/db/runs.ts";
import { registerWorktree } from "../core/db/worktrees.ts";
import { currentBranch } from "../core/git.ts";
import { HookRunner } from "../core/hooks.ts";
import { processStartToken } from "../core/process_identity.ts";
import { useProcReader } from "../core/proc_reader.ts";
import { requireProject, resolveTarget } from "../core/project.ts";
import { recoverOrphans } from "../core/recovery.ts";
import { planResume, type ResumeResult, resumeTicket } from "../core/runner/resume_ticket.ts";
import { StopController } from "../core/runner/stop_control.ts";
import { resolveTicketsDir } from "../core/tickets.ts";
import { commandPath, shellWord } from "../core/command_words.ts";
import { decodeUtf8 } from "../core/ticket_front_matter.ts";

export interface ResumeOptions {
  message?: string;
  file?: string;
  json?: boolean;
}

/**
 * `cmcs resume <path> <ticket> (-m FEEDBACK | --file F)`: sends a ticket back to the same Codex
 * conversation with the orchestrator's feedback, as a new run with one `resume` attempt. Exit 0
 * when the ticket ends done, 1 otherwise (including a thread Codex no longer has), 2 for a usage
 * mistake, 130 on Ctrl-C.
 */
export async function resume(
  path: string,
  ticketRef: string,
  opts: ResumeOptions,
): Promise<number> {
  const feedback = await readFeedback(opts);
  // The broker reads its worker's /proc entries through one helper, not a process per look.
  useProcReader();
  const target = await resolveTarget(path);
  const project = await requireProject(target);
  const { config, warnings } = await loadConfig(project);
  for (const warning of warnings) printError(`warning: ${warning}`);
  const label = relative(project.root, target) || ".";
  const pathArg = shellWord(commandPath(target));
  const db = Database.open(project.dbPath);
  const stop = new StopController();
  let interrupted = false;
  const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as Deno.Signal[]).map((signal) =>
    [signal, () => {
      interrupted = true;
      stop.request("stopped", `interrupted by ${signal}`);
    }] as const
  );
  let hooks: HookRunner | null = null;
  try {
    await recoverOrphans(db);
    const plan = await planResume(
      db,
      target,
      resolveTicketsDir(target, config.tickets.dir),
      ticketRef,
    );
    registerWorktree(db, target, (await currentBranch(target)) ?? basename(target));
    for (const [signal, handler] of handlers) {
      try {
        Deno.addSignalListener(signal, handler);
      } catch { /* not supported on this platform */ }
    }
    const write = opts.json ? (line: string) => printError(line) : (line: string) => print(line);
    const printer = progressPrinter(write);
    hooks = new HookRunner({ hooks: config.hooks, db, cwd: target, report: write });
    const runHooks = hooks;
    let result: ResumeResult;
    try {
      result = await resumeTicket({
        db,
        project,
        config,
        target,
        broker: { pid: Deno.pid, start: processStartToken(Deno.pid) },
        stop,
        progress: (p) => {
          printer(p);
          runHooks.onProgress(p);
        },
        plan,
        feedback,
      });
    } catch (error) {
      if (error instanceof TargetBusyError) {
        throw new UserError(
          `${label}: run ${error.run.id} is already running there (broker pid ${error.run.broker_pid})`,
          {
            hint:
              `wait for it with \`cmcs wait ${pathArg}\` or stop it with \`cmcs stop ${error.run.id}\``,
          },
        );
      }
      throw error;
    }
    const id = plan.ticket.id;
    if (result.threadGone) {
      throw new UserError(
        `the Codex thread of ${id} is gone (Codex has no conversation ${plan.threadId}); ` +
          `start a new attempt with \`cmcs run ${pathArg}\``,
        {
          hint: `${id} is now re-opened (done: false), so \`cmcs run ${pathArg}\` starts it afresh`,
        },
      );
    }
    if (opts.json) {
      printJson({
        run_id: result.run.id,
        target,
        ticket: id,
        thread_id: plan.threadId,
        resumed_attempt_id: plan.source.id,
        status: result.status,
        message: result.message,
        outcome: result.outcome,
        attempt_id: result.attempt.id,
        attempt_kind: result.attempt.kind,
        commit_after: result.attempt.commit_after,
      });
    } else {
      print(`review it with \`cmcs result ${pathArg} ${shellWord(id)}\``);
    }
    if (interrupted) return EXIT.interrupted;
    return result.status === "completed" ? EXIT.ok : EXIT.failed;
  } finally {
    for (const [signal, handler] of handlers) {
      try {
        Deno.removeSignalListener(signal, handler);
      } catch { /* never added */ }
    }
    await hooks?.drain();
    db.close();
  }
}

/** What a background resume started: its run, in the shape `cmcs run --detach --json` prints. */
export interface DetachedResume {
  run_id: number | null;
  target: string;
  ticket: string;
  thread_id: string;
  broker_pid: number;
  log: string;
}

/**
 * `cmcs resume` in a background broker, for callers that must not block for a whole Codex turn
 * (the MCP server): everything a resume checks first (feedback not empty, the ticket exists and
 * has a Codex thread, no live run on the target) is checked here, so a mistake is an error now
 * and not a line in a log. The feedback goes to a file in the logs directory, handed over with
 * `--file` and removed once the broker has created its run, when the call returns.
 */
export async function resumeDetachedReport(
  path: string,
  ticketRef: string,
  feedback: string,
): Promise<Report<DetachedResume>> {
  if (feedback.trim() === "") {
    throw new UsageError("the feedback is empty", "say what the worker should change");
  }
  if (new TextEncoder().encode(feedback).length > MAX_FEEDBACK_BYTES) {
    throw new UsageError(
      `the feedback is larger than ${MAX_FEEDBACK_BYTES / 1024 / 1024} MiB`,
      "say what the worker should change in fewer words; it goes whole into the worker's prompt",
    );
  }
  const target = await resolveTarget(path);
  const project = await requireProject(target);
  const { config } = await loadConfig(project);
  const label = relative(project.root, target) || ".";
  const db = Database.open(project.dbPath);
  let plan;
  try {
    await recoverOrphans(db);
    plan = await planResume(db, target, resolveTicketsDir(target, config.tickets.dir), ticketRef);
    const reason = busyReason(db, target, label);
    if (reason) {
      throw new UserError(reason, {
        hint: `wait for it with \`cmcs wait ${label}\` or stop it with \`cmcs stop ${label}\``,
      });
    }
  } finally {
    db.close();
  }
  await Deno.mkdir(project.logsDir, { recursive: true });
  const file = await Deno.makeTempFile({
    dir: project.logsDir,
    prefix: `resume-${plan.ticket.id}-`,
    suffix: ".md",
  });
  await Deno.writeTextFile(file, feedback);
  const { startDetachedBroker } = await import("../core/runner/detach.ts");
  let started;
  try {
    started = await startDetachedBroker({
      cwd: Deno.cwd(),
      logsDir: project.logsDir,
      targets: [{ target, label, dbPath: project.dbPath }],
      args: ["resume", target, plan.ticket.id, "--file", file],
    });
  } finally {
    // The broker reads the feedback before it creates its run, so once the run exists (or the
    // broker is gone) the file has served; the attempt's prompt keeps the feedback.
    await Deno.remove(file).catch(() => {});
  }
  const run = started.runs[0];
  const pathArg = shellWord(commandPath(target));
  return {
    code: EXIT.ok,
    data: {
      run_id: run.run_id,
      target,
      ticket: plan.ticket.id,
      thread_id: plan.threadId,
      broker_pid: started.pid,
      log: started.log,
    },
    text: [
      `run ${run.run_id} resumes ${plan.ticket.id} on ${label} (thread ${plan.threadId})`,
      `in the background (broker pid ${started.pid}, log ${started.log})`,
      `wait with \`cmcs wait ${pathArg}\``,
    ],
  };
}
/** The most feedback read: it goes whole into the worker's prompt, like a ticket (same limit). */
const MAX_FEEDBACK_BYTES = 8 * 1024 * 1024;

/** The feedback from `-m` or `--file` (`-` = stdin): exactly one of them, and not empty. */
async function readFeedback(opts: ResumeOptions): Promise<string> {
  if ((opts.message === undefined) === (opts.file === undefined)) {
    throw new UsageError(
      opts.message === undefined
        ? 'resume needs the feedback: -m "FEEDBACK" or --file FILE'
        : "give the feedback either with -m or with --file, not both",
      'e.g. cmcs resume . TICKET-002 -m "The tests for empty input are missing"',
    );
  }
  let text: string;
  if (opts.message !== undefined) text = opts.message;
  else {
    let bytes: Uint8Array | null;
    try {
      // A pipe is fine (`--file <(git diff)`), a device that never ends is not: read a bounded
      // amount either way.
      const stream = opts.file === "-"
        ? Deno.stdin.readable
        : (await Deno.open(opts.file!)).readable;
      bytes = await readAtMost(stream, MAX_FEEDBACK_BYTES);
    } catch (error) {
      throw new UserError(
        `cannot read the feedback file ${opts.file}: ${(error as Error).message}`,
      );
    }
    if (bytes === null) {
      throw new UserError(
        `the feedback ${opts.file === "-" ? "on stdin" : `file ${opts.file}`} is larger than ${
          MAX_FEEDBACK_BYTES / 1024 / 1024
        } MiB`,
        { hint: "the feedback goes into the worker's prompt: keep it to what it should change" },
      );
    }
    const decoded = decodeUtf8(bytes);
    if (!decoded.ok) {
      throw new UserError(
        `the feedback ${
          opts.file === "-" ? "on stdin" : `file ${opts.file}`
        } is not UTF-8 text (line ${decoded.line})`,
        { hint: "save it as UTF-8; the worker would get replacement characters instead" },
      );
    }
    text = decoded.text;
  }
  if (text.trim() === "") {
    throw new UsageError(
      `the feedback is empty${opts.file !== undefined ? ` (${opts.file})` : ""}`,
      "say what the worker should change",
    );
  }
  return text;
}
