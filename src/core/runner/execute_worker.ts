import { join } from "../path.ts";
import { CodexStream } from "../codex_events.ts";
import { LineSplitter } from "../line_splitter.ts";
import { spawnInOwnSession, startFailure } from "../own_session.ts";
import { killProcessTree } from "../process_tree.ts";
import { processStartTokenAsync } from "../process_identity.ts";
import { timerDelay } from "../time.ts";
import { StopController, type StopReason } from "./stop_control.ts";

/** The files one attempt keeps under `.cmcs/logs/<run-id>/<ticket>.<n>/`. */
export const ATTEMPT_FILES = {
  jsonl: "codex.jsonl",
  stderr: "stderr.log",
  lastMessage: "last-message.md",
  prompt: "prompt.md",
  summary: "summary.json",
} as const;

export interface WorkerSpec {
  command: string;
  args: string[];
  cwd: string;
  prompt: string;
  logDir: string;
  /** Extra environment for the worker (the process token is added here). */
  env: Record<string, string>;
  timeoutS: number;
  idleTimeoutS: number;
  graceS: number;
  /** The run's stop controller: a stop of the run ends this worker too. */
  runStop: StopController;
  /**
   * Why the worker must not start (the attempt could not be prepared): it then ends as a
   * `spawnError` with this message, its logs kept, and nothing is started.
   */
  refuse?: string;
  onSpawn?: (worker: { pid: number; start: string | null; token: string }) => void;
  onEvent?: (stream: CodexStream, event: Record<string, unknown>) => void;
  /**
   * Called the moment the worker has exited on its own (not when cmcs ended it), before its
   * leftovers are looked for: the caller may start work of its own beside that search, and learns
   * from {@link WorkerExecution.leftovers} whether anything of the attempt ran on after this call.
   */
  onExit?: () => void;
}

export interface WorkerExecution {
  exitCode: number | null;
  signal: string | null;
  stream: CodexStream;
  stderrTail: string;
  /** Set when cmcs ended the worker (stop, total or idle timeout). */
  stopReason: StopReason | null;
  stopMessage: string | null;
  /** Set when the worker could not be started at all. */
  spawnError: string | null;
  /** Processes of the attempt still alive after everything was tried (should be empty). */
  survivors: number[];
  /**
   * Processes of the attempt ran after the worker's exit (commands it left behind, now ended), or
   * cmcs ended the worker: anything {@link WorkerSpec.onExit} started may have missed their work.
   */
  leftovers: boolean;
  /**
   * What went wrong keeping the worker's evidence (a log file not writable, a full disk, an event
   * that could not be recorded). The worker runs on regardless; these become attempt warnings.
   */
  problems: string[];
}

const STDERR_TAIL_BYTES = 8192;

/**
 * The longest line of the worker's stdout that is parsed as an event (16 MiB, far above any event
 * Codex prints but a bounded amount of memory). A longer line is cut from the events: nothing on
 * it is read, the attempt gets a warning, and `codex.jsonl` keeps its bytes all the same (the log
 * is the worker's stdout byte for byte; `cmcs logs` and the dashboard read bounded tails of it).
 */
export const MAX_EVENT_LINE_BYTES = 16 * 2 ** 20;

/** After the worker's exit its pipes are read on while bytes keep coming this often… */
const DRAIN_QUIET_MS = 500;
/** …but no longer than this in all. */
const DRAIN_MAX_MS = 5000;
const DRAIN_CHECK_MS = 50;

/**
 * Runs one worker process to its end and keeps its evidence: the prompt goes to stdin, which is then
 * closed; stdout (JSONL) and stderr are written to the attempt's files as they arrive and stdout is
 * parsed live. The worker runs in its own session (so Ctrl-C in cmcs's terminal reaches only cmcs)
 * with `CMCS_ATTEMPT_ID` in its environment, which lets cmcs find every process started for the
 * attempt — even commands Codex put in process groups of their own — and end them all.
 */
export async function executeWorker(spec: WorkerSpec): Promise<WorkerExecution> {
  const stream = new CodexStream();
  const token = crypto.randomUUID();
  const result: WorkerExecution = {
    exitCode: null,
    signal: null,
    stream,
    stderrTail: "",
    stopReason: null,
    stopMessage: null,
    spawnError: null,
    survivors: [],
    leftovers: false,
    problems: [],
  };

  try {
    // Before the worker starts, and synchronously (nothing else could happen meanwhile).
    Deno.mkdirSync(spec.logDir, { recursive: true });
    Deno.writeTextFileSync(join(spec.logDir, ATTEMPT_FILES.prompt), spec.prompt);
  } catch (error) {
    // No worker runs without its evidence being kept.
    result.spawnError = `cannot write the attempt's logs in ${spec.logDir}: ${
      (error as Error).message
    } — make the .cmcs/logs directory writable`;
    return result;
  }
  if (spec.refuse) {
    result.spawnError = spec.refuse;
    try {
      Deno.writeTextFileSync(join(spec.logDir, ATTEMPT_FILES.stderr), spec.refuse + "\n");
    } catch { /* the attempt records the message all the same */ }
    return result;
  }
  if (spec.runStop.stopped) {
    // A stop that came while the attempt was being prepared: no worker is started at all.
    result.stopReason = spec.runStop.reason ?? "stopped";
    result.stopMessage = spec.runStop.message ?? "stopped";
    return result;
  }
  let child: Deno.ChildProcess;
  let lookedUp: string | null;
  const unstartable = async (error: unknown) => {
    result.spawnError = spawnErrorMessage(spec.command, error);
    await Deno.writeTextFile(join(spec.logDir, ATTEMPT_FILES.stderr), result.spawnError + "\n")
      .catch(() => {});
    return result;
  };
  try {
    // In a session of its own, without forking the broker (src/core/own_session.ts).
    ({ child, lookedUp } = spawnInOwnSession(spec.command, {
      args: spec.args,
      cwd: spec.cwd,
      env: { ...spec.env, CMCS_ATTEMPT_ID: token },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }));
  } catch (error) {
    return await unstartable(error);
  }
  const start = await processStartTokenAsync(child.pid);
  try {
    spec.onSpawn?.({ pid: child.pid, start, token });
  } catch (error) {
    // The worker could not be recorded (the database stayed locked): it must not run unowned.
    await killProcessTree({ pid: child.pid, start, token, graceS: 0 });
    await child.status;
    throw error;
  }

  // Any byte of stdout is activity, a line still being written included (a worker may spend
  // minutes printing one large event).
  let lastActivity = Date.now();
  let lastByte = Date.now();
  let stdoutBytes = 0;
  const attemptStop = new StopController();
  const offRun = spec.runStop.onStop(() =>
    attemptStop.request(spec.runStop.reason ?? "stopped", spec.runStop.message ?? "stopped")
  );
  const totalTimer = setTimeout(
    () =>
      attemptStop.request("timeout_total", `no result after ${spec.timeoutS}s (codex.timeout_s)`),
    timerDelay(spec.timeoutS * 1000),
  );
  const idleTimer = setInterval(() => {
    if (Date.now() - lastActivity > spec.idleTimeoutS * 1000) {
      attemptStop.request(
        "timeout_idle",
        `no output from codex for ${spec.idleTimeoutS}s (codex.idle_timeout_s)`,
      );
    }
  }, Math.min(1000, Math.max(100, spec.idleTimeoutS * 250)));

  let killing: Promise<void> | null = null;
  const offAttempt = attemptStop.onStop(() => {
    killing = killProcessTree({ pid: child.pid, start, token, graceS: spec.graceS }).then((r) => {
      result.survivors = r.survivors;
    });
  });

  const stdinDone = writePrompt(child, spec.prompt);
  const lines = new LineSplitter(MAX_EVENT_LINE_BYTES, (line) => {
    if (line.trim() === "") return;
    try {
      const event = stream.push(line);
      if (event) spec.onEvent?.(stream, event);
    } catch (error) {
      _note(result.problems, `recording a worker event failed: ${(error as Error).message}`);
    }
  });
  // Both pumps drain their pipe (a worker blocked on a full pipe would hang) until it ends or
  // cmcs stops reading after the worker's exit, and never reject: a failure while the worker
  // runs would otherwise end the whole broker.
  const stdout = _pump(
    child.stdout,
    join(spec.logDir, ATTEMPT_FILES.jsonl),
    result.problems,
    (chunk) => {
      lastActivity = lastByte = Date.now();
      stdoutBytes += chunk.length;
      lines.push(chunk);
    },
  );
  let stderrTail: Uint8Array = new Uint8Array(0);
  const stderr = _pump(
    child.stderr,
    join(spec.logDir, ATTEMPT_FILES.stderr),
    result.problems,
    (chunk) => {
      lastByte = Date.now();
      stderrTail = keepTail(stderrTail, chunk, STDERR_TAIL_BYTES);
    },
  );

  const status = await child.status;
  clearTimeout(totalTimer);
  clearInterval(idleTimer);
  offRun();
  offAttempt();
  if (killing) {
    result.leftovers = true;
    await killing;
  } else {
    try {
      spec.onExit?.();
    } catch { /* the caller's own business */ }
    // The worker ended on its own; commands it left behind (same token) are ended too.
    const leftovers = await killProcessTree({
      pid: child.pid,
      start,
      token,
      graceS: 0,
      rootReaped: true,
    });
    result.survivors = leftovers.survivors;
    result.leftovers = leftovers.found > 0;
  }
  // The worker's end is its exit: a process that escaped the tree without the token may hold
  // its stdout or stderr open for ever. What is already in the pipes is read, then no more.
  if (!(await drainAfterExit([stdout.done, stderr.done], () => lastByte))) {
    stdout.stop();
    stderr.stop();
    _note(
      result.problems,
      "codex exited but something it started kept its output open (a process without " +
        "CMCS_ATTEMPT_ID, which cmcs cannot find): cmcs stopped reading at the exit, and that " +
        "process may still be running",
    );
  }
  await Promise.all([stdout.done, stderr.done]);
  lines.end();
  if (lines.cut.lines > 0) _note(result.problems, cutLinesProblem(lines.cut));
  // A prompt that could not all be written (the worker exited without reading it while
  // something else holds its stdin) is not waited for.
  await Promise.race([stdinDone, Promise.resolve()]);
  result.stderrTail = new TextDecoder().decode(stderrTail);
  // Started through `setsid`, a command that is not there is known only now, by setsid's exit.
  const failed = startFailure(lookedUp, status, stdoutBytes, result.stderrTail);
  if (failed && !attemptStop.reason) return await unstartable(failed);
  result.exitCode = status.signal ? null : status.code;
  result.signal = status.signal ?? null;
  result.stopReason = attemptStop.reason;
  result.stopMessage = attemptStop.message;
  return result;
}

/**
 * After the worker's exit, waits for `ends` (its pipes closing) as long as bytes keep coming:
 * true when they all ended, false after {@link DRAIN_QUIET_MS} without a byte or
 * {@link DRAIN_MAX_MS} in all. A check that comes late (the broker was busy, or not scheduled)
 * restarts the quiet period, so output already in the pipe is never taken for silence.
 */
async function drainAfterExit(ends: Promise<void>[], lastByte: () => number): Promise<boolean> {
  let ended = false;
  const all = Promise.all(ends).then(() => {
    ended = true;
  });
  const started = Date.now();
  let quietSince = started;
  let lastCheck = started;
  while (true) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      all,
      new Promise((resolve) => timer = setTimeout(resolve, DRAIN_CHECK_MS)),
    ]);
    clearTimeout(timer);
    if (ended) return true;
    const now = Date.now();
    if (now - lastCheck > DRAIN_CHECK_MS * 3) quietSince = now;
    lastCheck = now;
    quietSince = Math.max(quietSince, lastByte());
    if (now - quietSince >= DRAIN_QUIET_MS || now - started >= DRAIN_MAX_MS) return false;
  }
}

function cutLinesProblem(cut: { lines: number; longestBytes: number }): string {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const what = cut.lines === 1
    ? `a line of codex's output (${mib(cut.longestBytes)}) was`
    : `${cut.lines} lines of codex's output (the longest ${mib(cut.longestBytes)}) were`;
  return `${what} longer than ${mib(MAX_EVENT_LINE_BYTES)} and cut: cmcs did not read the ` +
    `event${cut.lines === 1 ? "" : "s"} on ${
      cut.lines === 1 ? "it" : "them"
    } (${ATTEMPT_FILES.jsonl} keeps the bytes)`;
}

function spawnErrorMessage(command: string, error: unknown): string {
  if (error instanceof Deno.errors.NotFound) {
    if (/\s/.test(command.trim())) {
      return `cannot start the worker: \`${command}\` was not found — codex.command names one ` +
        "executable; put its options in codex.extra_args";
    }
    return `cannot start the worker: \`${command}\` was not found${
      command.includes("/") ? "" : " on PATH"
    } — install the Codex CLI (\`npm install -g @openai/codex\`) or set codex.command in ` +
      ".cmcs/config.yml (a program of your own needs a path, e.g. ./bin/codex)";
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `cannot start the worker: \`${command}\` is not executable (permission denied) — check codex.command`;
  }
  return `cannot start the worker \`${command}\`: ${(error as Error).message}`;
}

async function writePrompt(child: Deno.ChildProcess, prompt: string): Promise<void> {
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(prompt));
  } catch {
    // The worker exited without reading its prompt; its exit status tells the story.
  }
  try {
    await writer.close();
  } catch { /* already closed */ }
}

/** The last `max` bytes of `tail` followed by `chunk`. */
function keepTail(tail: Uint8Array, chunk: Uint8Array, max: number): Uint8Array {
  if (chunk.length >= max) return chunk.slice(chunk.length - max);
  const joined = new Uint8Array(Math.min(max, tail.length + chunk.length));
  const fromTail = joined.length - chunk.length;
  joined.set(tail.subarray(tail.length - fromTail));
  joined.set(chunk, fromTail);
  return joined;
}

/** One pipe being copied to its file: `done` when it ended or `stop` was called. */
interface Pump {
  done: Promise<void>;
  /** Stops reading (the pipe is closed on cmcs's side); `done` follows. */
  stop(): void;
}

/**
 * Reads `readable` to its end (or until stopped), writing every chunk to `path` and handing it to
 * `onChunk`. A file that cannot be opened or written (full disk) is noted in `problems` once and
 * writing stops; the reading goes on. `done` never rejects.
 */
function _pump(
  readable: ReadableStream<Uint8Array>,
  path: string,
  problems: string[],
  onChunk: (chunk: Uint8Array) => void,
): Pump {
  const reader = readable.getReader();
  let stopped = false;
  const done = (async () => {
    let file: Deno.FsFile | null = null;
    try {
      // Asynchronous: the two output files are created while the worker starts.
      file = await Deno.open(path, { create: true, write: true, truncate: true });
    } catch (error) {
      _note(problems, `cannot write ${path}: ${(error as Error).message}`);
    }
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        if (file) {
          try {
            await writeAll(file, value);
          } catch (error) {
            _note(
              problems,
              `writing ${path} failed, the rest is not kept: ${(error as Error).message}`,
            );
            file.close();
            file = null;
          }
        }
        onChunk(value);
      }
    } catch (error) {
      if (!stopped) {
        _note(problems, `reading the worker's output failed: ${(error as Error).message}`);
      }
    } finally {
      file?.close();
    }
  })();
  return {
    done,
    stop() {
      stopped = true;
      reader.cancel().catch(() => {});
    },
  };
}

/** Adds a problem unless it is already there, and keeps the list short. */
function _note(problems: string[], problem: string): void {
  if (problems.length < 10 && !problems.includes(problem)) problems.push(problem);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
