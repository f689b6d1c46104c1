/**
 * `run --detach`: the runs go to a background cmcs process (a new session, so the caller's shell
 * ending or its terminal closing does not reach it) whose output is appended to
 * `.cmcs/logs/broker-<time>.log`. The caller returns as soon as the broker has created a run for
 * (or queued) every target, which it learns from the database, so it can print the run ids.
 */
import { join } from "../path.ts";
import { fileURLToPath } from "node:url";
import permissionFlags from "../../../permissions.txt" with { type: "text" };
import { UserError } from "../errors.ts";
import { tail } from "../hooks.ts";
import { Database } from "../db/database.ts";
import { latestRunOfBroker } from "../db/runs.ts";
import type { RunStatus } from "../db/types.ts";
import { queuedByPid } from "../db/worktree_queue.ts";

/** cmcs's own permission flags: the one list in permissions.txt, compiled into the program. */
export const PERMISSION_FLAGS: readonly string[] = permissionFlags.trim().split(/\s+/);

/**
 * The command line that starts this same cmcs with `args`: the compiled binary itself, or
 * `deno run <permissions> <main module>` when running from source or from the bundled file.
 */
export function selfCommand(args: string[]): { command: string; args: string[] } {
  if (Deno.build.standalone) return { command: Deno.execPath(), args };
  const main = Deno.mainModule;
  if (!main.startsWith("file:")) {
    throw new UserError(`cannot start a background cmcs from ${main}`, {
      hint: "run cmcs from a local file or the compiled binary to use --detach",
    });
  }
  return {
    command: Deno.execPath(),
    args: ["run", "--quiet", ...PERMISSION_FLAGS, fileURLToPath(main), ...args],
  };
}

export interface DetachTarget {
  target: string;
  label: string;
  dbPath: string;
}

export interface DetachedRun {
  /** Null while the target waits for a `run.max_parallel` slot. */
  run_id: number | null;
  target: string;
  label: string;
  status: RunStatus | "queued";
}

export interface DetachedBroker {
  pid: number;
  log: string;
  runs: DetachedRun[];
}

/** How long the caller waits for the background broker to create its runs. */
const START_TIMEOUT_MS = 60_000;
const POLL_MS = 50;

/**
 * Starts `cmcs run <targets>` in the background and returns once every target has a run of that
 * broker or is queued by it. A broker that exits before that, or takes too long, is an error
 * quoting the end of its log.
 */
export async function startDetachedBroker(opts: {
  cwd: string;
  logsDir: string;
  targets: DetachTarget[];
  /** The cmcs command the broker runs; `run <targets>` unless given (e.g. a `resume`). */
  args?: string[];
  timeoutMs?: number;
}): Promise<DetachedBroker> {
  await Deno.mkdir(opts.logsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const log = join(opts.logsDir, `broker-${stamp}.log`);
  const self = selfCommand(opts.args ?? ["run", ...opts.targets.map((t) => t.target)]);
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'log=$1; shift; exec "$@" </dev/null >>"$log" 2>&1',
      "cmcs-broker",
      log,
      self.command,
      ...self.args,
    ],
    cwd: opts.cwd,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  let exited: Deno.CommandStatus | null = null;
  child.status.then((status) => exited = status);

  const dbs = new Map<string, Database>();
  try {
    const deadline = Date.now() + (opts.timeoutMs ?? START_TIMEOUT_MS);
    while (true) {
      const wasExited = exited;
      const runs = _accounted(opts.targets, child.pid, dbs);
      if (runs) return { pid: child.pid, log, runs };
      if (wasExited) {
        throw new UserError(
          `the background broker exited (code ${
            (wasExited as Deno.CommandStatus).code
          }) before starting its runs: ${await _logTail(log)}`,
          { hint: `see ${log}` },
        );
      }
      if (Date.now() > deadline) {
        throw new UserError(
          `the background broker (pid ${child.pid}) did not start its runs within ${
            (opts.timeoutMs ?? START_TIMEOUT_MS) / 1000
          }s`,
          { hint: `see ${log}` },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    for (const db of dbs.values()) db.close();
  }
}

/** Every target's run by broker `pid` or its queue mark; null while one is still unaccounted. */
function _accounted(
  targets: DetachTarget[],
  pid: number,
  dbs: Map<string, Database>,
): DetachedRun[] | null {
  const runs: DetachedRun[] = [];
  const queued = new Map<string, Set<string>>();
  for (const t of targets) {
    let db = dbs.get(t.dbPath);
    if (!db) {
      db = Database.open(t.dbPath);
      dbs.set(t.dbPath, db);
    }
    const run = latestRunOfBroker(db, t.target, pid);
    if (run) {
      runs.push({ run_id: run.id, target: t.target, label: t.label, status: run.status });
      continue;
    }
    if (!queued.has(t.dbPath)) queued.set(t.dbPath, new Set(queuedByPid(db, pid)));
    if (!queued.get(t.dbPath)!.has(t.target)) return null;
    runs.push({ run_id: null, target: t.target, label: t.label, status: "queued" });
  }
  return runs;
}

async function _logTail(log: string): Promise<string> {
  const text = await Deno.readTextFile(log).catch(() => "");
  return tail(text, 5).replaceAll("\n", " / ") || "(no output)";
}
