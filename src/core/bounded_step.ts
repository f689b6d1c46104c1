/**
 * One external step of cmcs — git with its hooks, a worktree setup or archive command, a
 * notification hook — run so that it can never hold cmcs for good: in a session of its own (out of
 * reach of a Ctrl-C meant for cmcs, and one process group to end as a whole), with a time bound,
 * and ended early when the run is stopped. A hook that hangs then costs a bounded wait and a clear
 * failure instead of a broker that no signal and no `cmcs stop` can end.
 */
import { spawnInOwnSession, startFailure } from "./own_session.ts";
import { timerDelay } from "./time.ts";

/** How long a step may take and what ends it early; every field is optional. */
export interface StepBound {
  /** Seconds the step may take before its process group gets SIGTERM (then SIGKILL). */
  timeoutS?: number;
  /** A stop (`cmcs stop`, Ctrl-C, SIGTERM to the broker): ends the step after `patienceS`. */
  signal?: AbortSignal;
  /**
   * Seconds a step may go on after `signal` before it is ended: a commit a moment from finishing
   * is better finished than killed. Counted from the later of the stop and the step's start.
   */
  patienceS?: number;
}

/** Why a step was ended before it exited on its own. */
export type EndedBy = "timeout" | "stop";

export interface StepResult {
  /** Exit code; null when the step was killed by a signal. */
  code: number | null;
  signal: Deno.Signal | null;
  /** Each stream's end (at most `maxOutputBytes`), and both as they arrived (`output`). */
  stdout: Uint8Array;
  stderr: Uint8Array;
  output: Uint8Array;
  durationS: number;
  /** Null when the step exited on its own. */
  endedBy: EndedBy | null;
}

export interface StepCommand {
  command: string;
  args: string[];
  cwd: string;
  /** Added to cmcs's own environment. */
  env?: Record<string, string>;
  /** Keep at most this many bytes of each stream (the end is kept). Default 256 KiB. */
  maxOutputBytes?: number;
}

/** Milliseconds between SIGTERM and SIGKILL for a step that is being ended. */
const KILL_GRACE_MS = 2000;
/** How long to keep reading output after the step exited (a background child may hold the pipe). */
const DRAIN_MS = 500;

/**
 * Runs `cmd` as a bounded, stoppable step (see the module comment), stdin closed, and returns how
 * it ended with its output. On a timeout or a stop the step's whole process group gets SIGTERM
 * (git removes its lock files then), {@link KILL_GRACE_MS} later SIGKILL, and once the step's own
 * process is gone whatever is left of the group is killed too. After a step that exited on its
 * own, a process it left in the background is not waited for: its output is read for a short
 * while only. Throws when the command cannot be started (`Deno.errors.NotFound` for a missing
 * program), as `Deno.Command#spawn` does.
 */
export async function runStep(cmd: StepCommand, bound: StepBound = {}): Promise<StepResult> {
  const started = performance.now();
  const maxBytes = cmd.maxOutputBytes ?? 256 * 1024;
  // In a session of its own, without forking the broker (src/core/own_session.ts).
  const { child, lookedUp } = spawnInOwnSession(cmd.command, {
    args: cmd.args,
    cwd: cmd.cwd,
    env: cmd.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const stdout = new TailBuffer(maxBytes);
  const stderr = new TailBuffer(maxBytes);
  const output = new TailBuffer(maxBytes);
  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  const reading = readers.map(async (reader, i) => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        (i === 0 ? stdout : stderr).push(value);
        output.push(value);
      }
    } catch { /* cancelled */ }
  });

  let endedBy: EndedBy | null = null;
  const timers: ReturnType<typeof setTimeout>[] = [];
  const end = (why: EndedBy) => {
    if (endedBy) return;
    endedBy = why;
    killGroup(child.pid, "SIGTERM");
    timers.push(setTimeout(() => killGroup(child.pid, "SIGKILL"), KILL_GRACE_MS));
  };
  if (bound.timeoutS !== undefined) {
    timers.push(setTimeout(() => end("timeout"), timerDelay(bound.timeoutS * 1000)));
  }
  const onAbort = () => {
    timers.push(setTimeout(() => end("stop"), timerDelay((bound.patienceS ?? 0) * 1000)));
  };
  if (bound.signal?.aborted) onAbort();
  else bound.signal?.addEventListener("abort", onAbort, { once: true });

  const status = await child.status;
  bound.signal?.removeEventListener("abort", onAbort);
  for (const timer of timers) clearTimeout(timer);
  if (endedBy) killGroup(child.pid, "SIGKILL");
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(reading),
    new Promise((resolve) => drainTimer = setTimeout(resolve, DRAIN_MS)),
  ]);
  clearTimeout(drainTimer);
  for (const reader of readers) reader.cancel().catch(() => {});
  await Promise.all(reading);
  const out = stdout.bytes();
  const err = stderr.bytes();
  const unstarted = endedBy ? null : startFailure(
    lookedUp,
    { code: status.code, signal: status.signal },
    out.length,
    new TextDecoder().decode(err),
  );
  if (unstarted) throw unstarted;
  return {
    code: status.signal ? null : status.code,
    signal: status.signal ?? null,
    stdout: out,
    stderr: err,
    output: output.bytes(),
    durationS: (performance.now() - started) / 1000,
    endedBy,
  };
}

/** Signals the process group `pid` leads; a group already gone is fine. */
function killGroup(pid: number, signal: Deno.Signal): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    Deno.kill(-pid, signal);
  } catch { /* already gone */ }
}

/** The last `max` bytes (at least the last chunk) of a stream, kept as chunks. */
class TailBuffer {
  #chunks: Uint8Array[] = [];
  #kept = 0;

  constructor(readonly max: number) {}

  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#kept += chunk.length;
    while (this.#kept > this.max && this.#chunks.length > 1) {
      this.#kept -= this.#chunks.shift()!.length;
    }
  }

  bytes(): Uint8Array {
    const bytes = new Uint8Array(this.#kept);
    let offset = 0;
    for (const chunk of this.#chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return bytes;
  }
}
