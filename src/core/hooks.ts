/**
 * User-configured shell commands: the notification hooks (`hooks.on_ticket_end`,
 * `hooks.on_run_end`) and the worktree `setup`/`archive` commands all run through
 * {@link runShellCommand}, so each gets the same treatment: `sh -c`, no stdin, output captured,
 * its whole process group ended on a timeout or a stop.
 */
import { basename } from "./path.ts";
import type { HooksConfig } from "./config.ts";
import type { Database } from "./db/database.ts";
import { recordEvent } from "./db/events.ts";
import type { Progress } from "./runner/progress.ts";
import { runStep, type StepResult } from "./bounded_step.ts";

export interface ShellResult {
  /** Exit code, or null when the command was killed by a signal or could not start. */
  code: number | null;
  signal: string | null;
  /** stdout and stderr as they arrived (each capped), decoded leniently. */
  output: string;
  durationS: number;
  timedOut: boolean;
  /** True when a stop (Ctrl-C, SIGTERM, `cmcs stop`) ended the command. */
  stopped: boolean;
  /** Set when `sh` itself could not be started. */
  spawnError: string | null;
}

export interface ShellOptions {
  command: string;
  cwd: string;
  /** Added to cmcs's own environment. */
  env: Record<string, string>;
  /** Seconds before the command's process group gets SIGTERM (then SIGKILL); none by default. */
  timeoutS?: number;
  /** Ends the command's process group at once (a stop). */
  signal?: AbortSignal;
  /** Keep at most this many bytes of output (the end is kept). Default 256 KiB. */
  maxOutputBytes?: number;
}

/**
 * Runs `sh -c command` in `cwd` as a bounded step ({@link runStep}): stdin closed, a process group
 * of its own, so a timeout or a stop ends everything it started. After `sh` exits, output still
 * arriving from a process it left in the background is read for a short while only: a hook that
 * starts a daemon never makes cmcs wait for that daemon.
 */
export async function runShellCommand(options: ShellOptions): Promise<ShellResult> {
  let result: StepResult;
  try {
    result = await runStep({
      command: "sh",
      args: ["-c", options.command],
      cwd: options.cwd,
      env: options.env,
      maxOutputBytes: options.maxOutputBytes,
    }, { timeoutS: options.timeoutS, signal: options.signal });
  } catch (error) {
    return {
      code: null,
      signal: null,
      output: "",
      durationS: 0,
      timedOut: false,
      stopped: false,
      spawnError: `cannot start sh: ${(error as Error).message}`,
    };
  }
  return {
    code: result.code,
    signal: result.signal,
    output: new TextDecoder().decode(result.output),
    durationS: result.durationS,
    timedOut: result.endedBy === "timeout",
    stopped: result.endedBy === "stop",
    spawnError: null,
  };
}

/** One line describing how a shell command ended: `exit 0`, `exit 3`, `timed out after 30s`… */
export function describeShellResult(result: ShellResult, timeoutS?: number): string {
  if (result.spawnError) return result.spawnError;
  if (result.timedOut) return `timed out after ${timeoutS ?? result.durationS.toFixed(1)}s`;
  if (result.stopped) return "ended by a stop";
  if (result.signal) return `killed by ${result.signal}`;
  return `exit ${result.code}`;
}

/** The last `lines` lines of `text`, trimmed. */
export function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Which hook a transition triggers. */
export type HookName = "on_ticket_end" | "on_run_end";

export interface HookRunnerOptions {
  hooks: HooksConfig;
  /** Where `hook` events are recorded; must stay open until {@link HookRunner.drain} resolved. */
  db: Database;
  /** Working directory of the hooks: the target. */
  cwd: string;
  /** A human line about a hook that failed or timed out (the broker's output or log). */
  report: (line: string) => void;
}

/**
 * Runs the notification hooks of one target's runs, once per transition: `on_ticket_end` after
 * each ticket's last attempt, `on_run_end` when the run ends. A hook runs beside the ticket loop,
 * never in it: a slow or failing hook is recorded (event `hook`) and reported, and the run goes
 * on. The broker calls {@link drain} before it exits, which waits for hooks still running, each
 * bounded by `hooks.timeout_s`.
 */
export class HookRunner {
  #opts: HookRunnerOptions;
  #pending = new Set<Promise<void>>();
  #lastTicket = new Map<number, { ticket: string; file: string; outcome: string }>();

  constructor(opts: HookRunnerOptions) {
    this.#opts = opts;
  }

  /** A progress sink: starts the hook a transition calls for, if one is configured. */
  readonly onProgress = (p: Progress): void => {
    if (p.kind === "ticket_finished") {
      this.#lastTicket.set(p.runId, { ticket: p.ticket, file: p.path, outcome: p.outcome });
      this.#start("on_ticket_end", p.runId, {
        CMCS_RUN_ID: String(p.runId),
        CMCS_TARGET: p.target,
        CMCS_TICKET: p.ticket,
        CMCS_TICKET_FILE: p.path,
        CMCS_OUTCOME: p.outcome,
        CMCS_STATUS: "running",
        CMCS_MESSAGE: p.message ?? "",
        CMCS_HOOK: "on_ticket_end",
      }, basename(p.path));
    } else if (p.kind === "run_finished") {
      const last = this.#lastTicket.get(p.runId);
      this.#lastTicket.delete(p.runId);
      this.#start("on_run_end", p.runId, {
        CMCS_RUN_ID: String(p.runId),
        CMCS_TARGET: p.target,
        CMCS_TICKET: last?.ticket ?? "",
        CMCS_TICKET_FILE: last?.file ?? "",
        CMCS_OUTCOME: last?.outcome ?? "",
        CMCS_STATUS: p.status,
        CMCS_MESSAGE: p.message ?? "",
        CMCS_HOOK: "on_run_end",
      }, "");
    }
  };

  /** Number of hooks still running. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Resolves when every hook started so far has ended (each is bounded by its timeout). */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** `ticket` is the ticket's file name for the event (events name tickets by file), or "". */
  #start(name: HookName, runId: number, env: Record<string, string>, ticket: string): void {
    const command = this.#opts.hooks[name];
    if (!command) return;
    const job = this.#run(name, command, runId, env, ticket).catch((error) => {
      this.#opts.report(`hook ${name} could not be recorded: ${(error as Error).message}`);
    });
    this.#pending.add(job);
    job.finally(() => this.#pending.delete(job));
  }

  async #run(
    name: HookName,
    command: string,
    runId: number,
    env: Record<string, string>,
    ticket: string,
  ): Promise<void> {
    const timeoutS = this.#opts.hooks.timeout_s;
    const result = await runShellCommand({
      command,
      cwd: this.#opts.cwd,
      env,
      timeoutS,
      maxOutputBytes: 16 * 1024,
    });
    const ok = !result.timedOut && result.code === 0;
    const outcome = result.timedOut ? "timeout" : ok ? "ok" : "failed";
    const how = describeShellResult(result, timeoutS);
    const output = tail(result.output, 20);
    const message = `${name}${ticket ? ` (${ticket})` : ""}: ${how}${output ? `\n${output}` : ""}`;
    recordEvent(this.#opts.db, {
      runId,
      event: "hook",
      ticket,
      outcome,
      exitCode: result.code,
      durationS: result.durationS,
      message,
    });
    if (!ok) {
      this.#opts.report(
        `run ${runId}: hook ${name}${ticket ? ` for ${ticket}` : ""} ${
          result.timedOut ? "was ended" : "failed"
        } (${how})${output ? `: ${tail(output, 3).replaceAll("\n", " / ")}` : ""}`,
      );
    }
  }
}
