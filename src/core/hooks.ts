/**
 * User-configured shell commands: the notification hooks (`hooks.on_ticket_end`,
 * `hooks.on_run_end`) and the worktree `setup`/`archive` commands all run through
 * {@link runShellCommand}, so each gets the same treatment: `sh -c`, no stdin, output captured,
 * its whole process group ended on a timeout.
 */
import { basename } from "node:path";
import type { HooksConfig } from "./config.ts";
import type { Database } from "./db/database.ts";
import { recordEvent } from "./db/events.ts";
import type { Progress } from "./runner/progress.ts";
import { timerDelay } from "./time.ts";

export interface ShellResult {
  /** Exit code, or null when the command was killed by a signal or could not start. */
  code: number | null;
  signal: string | null;
  /** stdout and stderr as they arrived (each capped), decoded leniently. */
  output: string;
  durationS: number;
  timedOut: boolean;
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
  /** Keep at most this many bytes of output (the end is kept). Default 256 KiB. */
  maxOutputBytes?: number;
  /** Ends the command's process group (SIGTERM, then SIGKILL) when aborted: cmcs got a Ctrl-C. */
  signal?: AbortSignal;
}

/** Seconds between SIGTERM and SIGKILL for a command that overran its timeout. */
const KILL_GRACE_MS = 2000;
/** How long to keep reading output after `sh` exited (a background child may hold the pipe). */
const DRAIN_MS = 500;

/**
 * Runs `sh -c command` in `cwd` with stdin closed and returns its exit status and output. The
 * command runs in a process group of its own, so a timeout ends everything it started. After
 * `sh` exits, output still arriving from a process it left in the background is read for a short
 * while only: a hook that starts a daemon never makes cmcs wait for that daemon.
 */
export async function runShellCommand(options: ShellOptions): Promise<ShellResult> {
  const started = performance.now();
  const maxBytes = options.maxOutputBytes ?? 256 * 1024;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("sh", {
      args: ["-c", options.command],
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
  } catch (error) {
    return {
      code: null,
      signal: null,
      output: "",
      durationS: 0,
      timedOut: false,
      spawnError: `cannot start sh: ${(error as Error).message}`,
    };
  }
  const chunks: Uint8Array[] = [];
  let kept = 0;
  const keep = (chunk: Uint8Array) => {
    chunks.push(chunk);
    kept += chunk.length;
    while (kept > maxBytes && chunks.length > 1) kept -= chunks.shift()!.length;
  };
  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  const reading = readers.map(async (reader) => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        keep(value);
      }
    } catch { /* cancelled */ }
  });

  let timedOut = false;
  const timers: ReturnType<typeof setTimeout>[] = [];
  if (options.timeoutS !== undefined) {
    timers.push(setTimeout(() => {
      timedOut = true;
      _killGroup(child.pid, "SIGTERM");
      timers.push(setTimeout(() => _killGroup(child.pid, "SIGKILL"), KILL_GRACE_MS));
    }, timerDelay(options.timeoutS * 1000)));
  }
  const abort = () => {
    _killGroup(child.pid, "SIGTERM");
    timers.push(setTimeout(() => _killGroup(child.pid, "SIGKILL"), KILL_GRACE_MS));
  };
  if (options.signal?.aborted) abort();
  else options.signal?.addEventListener("abort", abort, { once: true });
  const status = await child.status;
  options.signal?.removeEventListener("abort", abort);
  for (const timer of timers) clearTimeout(timer);
  if (timedOut) _killGroup(child.pid, "SIGKILL");
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(reading),
    new Promise((resolve) => drainTimer = setTimeout(resolve, DRAIN_MS)),
  ]);
  clearTimeout(drainTimer);
  for (const reader of readers) reader.cancel().catch(() => {});
  await Promise.all(reading);

  const bytes = new Uint8Array(kept);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return {
    code: status.signal ? null : status.code,
    signal: status.signal ?? null,
    output: new TextDecoder().decode(bytes),
    durationS: (performance.now() - started) / 1000,
    timedOut,
    spawnError: null,
  };
}

function _killGroup(pid: number, signal: Deno.Signal): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    Deno.kill(-pid, signal);
  } catch { /* already gone */ }
}

/** One line describing how a shell command ended: `exit 0`, `exit 3`, `timed out after 30s`… */
export function describeShellResult(result: ShellResult, timeoutS?: number): string {
  if (result.spawnError) return result.spawnError;
  if (result.timedOut) return `timed out after ${timeoutS ?? result.durationS.toFixed(1)}s`;
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
      this.#lastTicket.set(p.runId, { ticket: p.ticket, file: p.file, outcome: p.outcome });
      this.#start("on_ticket_end", p.runId, {
        CMCS_RUN_ID: String(p.runId),
        CMCS_TARGET: p.target,
        CMCS_TICKET: p.ticket,
        CMCS_TICKET_FILE: p.file,
        CMCS_OUTCOME: p.outcome,
        CMCS_STATUS: "running",
        CMCS_MESSAGE: p.message ?? "",
        CMCS_HOOK: "on_ticket_end",
      }, basename(p.file));
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
