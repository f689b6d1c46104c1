/**
 * Several targets in one broker process: each target gets its own run (lock, logs, events) through
 * {@link runTarget}; at most `run.max_parallel` of a project's targets run at once and the rest
 * wait their turn, marked queued in the database so `wait` and `run --detach` can see them. Each
 * target's notification hooks run beside its run, and the broker waits for them before it returns.
 */
import type { Config } from "../config.ts";
import { Database } from "../db/database.ts";
import { brokerAlive, runningRunsOf, TargetBusyError } from "../db/runs.ts";
import { registerWorktree } from "../db/worktrees.ts";
import { currentBranch } from "../git.ts";
import { HookRunner } from "../hooks.ts";
import type { Project } from "../project.ts";
import { recoverOrphans } from "../recovery.ts";
import {
  type Broker,
  clearQueued,
  liveQueueMark,
  markQueued,
  stillQueuedBy,
} from "../db/worktree_queue.ts";
import type { ProgressSink } from "./progress.ts";
import { runTarget, type TargetRunResult } from "./run_target.ts";
import type { StopController } from "./stop_control.ts";
import { basename } from "../path.ts";

export interface PlannedTarget {
  /** Absolute real path. */
  target: string;
  project: Project;
  config: Config;
  ticketsDir: string;
  /** How the target is shown (relative to the main checkout). */
  label: string;
}

export interface TargetOutcome {
  target: PlannedTarget;
  /** Null when the run never started (stopped while queued, or the target became busy). */
  result: TargetRunResult | null;
  /** Why the run never started. */
  error: string | null;
}

export interface ParallelOptions {
  targets: PlannedTarget[];
  broker: Broker;
  stop: StopController;
  progress: ProgressSink;
  /** Human lines that are not progress (a hook that failed), already prefixed with the label. */
  report: (line: string) => void;
  /** Called when a target has to wait for a slot (it is marked queued). */
  onQueued?: (target: PlannedTarget) => void;
}

/**
 * A FIFO counting semaphore: `acquire` resolves with a release function once fewer than `max`
 * holders are active.
 */
export class Limiter {
  readonly max: number;
  #active = 0;
  #waiting: (() => void)[] = [];

  constructor(max: number) {
    this.max = Math.max(1, Math.floor(max));
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** True when an `acquire` now would have to wait. */
  get full(): boolean {
    return this.#active >= this.max;
  }

  acquire(): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        this.#active++;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.#active--;
          this.#waiting.shift()?.();
        });
      };
      if (this.#active < this.max) grant();
      else this.#waiting.push(grant);
    });
  }
}

/**
 * Why `target` cannot be run now: a live run of another broker, or a live broker's queue mark.
 * Null when it is free.
 */
export function busyReason(db: Database, target: string, label: string): string | null {
  const running = runningRunsOf(db, target).find((run) => brokerAlive(run));
  if (running) {
    return `${label}: run ${running.id} is already running there (broker pid ${running.broker_pid})`;
  }
  const queued = liveQueueMark(db, target);
  if (queued && queued.broker_pid !== Deno.pid) {
    return `${label}: already queued to run by broker pid ${queued.broker_pid}`;
  }
  return null;
}

/**
 * Runs every target (each to its end) with the per-project `run.max_parallel` limit and returns
 * one outcome per target, in the order given. Targets that must wait are marked queued, all at
 * once, before the first run is created, and stay marked until their own run exists.
 */
export async function runTargets(opts: ParallelOptions): Promise<TargetOutcome[]> {
  const { broker, stop } = opts;
  const limiters = new Map<string, Limiter>();
  const dbs = new Map<string, Database>();
  const opened: Database[] = [];
  try {
    for (const t of opts.targets) {
      if (!dbs.has(t.project.root)) {
        const db = Database.open(t.project.dbPath);
        opened.push(db);
        dbs.set(t.project.root, db);
        await recoverOrphans(db);
        limiters.set(t.project.root, new Limiter(t.config.run.max_parallel));
      }
      const db = dbs.get(t.project.root)!;
      registerWorktree(db, t.target, (await currentBranch(t.target)) ?? basename(t.target));
    }
    // The limiter is first come first served, so exactly the targets after the first
    // `max_parallel` of each project will wait: they are marked before any run starts.
    const queued = new Set<PlannedTarget>();
    for (const [root, db] of dbs) {
      const waiting = opts.targets.filter((t) => t.project.root === root)
        .slice(limiters.get(root)!.max);
      markQueued(db, waiting.map((t) => t.target), broker);
      for (const t of waiting) queued.add(t);
    }
    const settled = await Promise.allSettled(
      opts.targets.map((t) => _runOne(t, opts, limiters.get(t.project.root)!, stop, queued.has(t))),
    );
    const failure = settled.find((s) => s.status === "rejected");
    if (failure) throw (failure as PromiseRejectedResult).reason;
    return settled.map((s) => (s as PromiseFulfilledResult<TargetOutcome>).value);
  } finally {
    for (const [root, db] of dbs) {
      for (const t of opts.targets) if (t.project.root === root) clearQueued(db, t.target, broker);
    }
    for (const db of opened) db.close();
  }
}

async function _runOne(
  t: PlannedTarget,
  opts: ParallelOptions,
  limiter: Limiter,
  stop: StopController,
  wasQueued: boolean,
): Promise<TargetOutcome> {
  if (limiter.full) opts.onQueued?.(t);
  const release = await limiter.acquire();
  // Each target has its own connection: its hooks record events after the run itself ended.
  const db = Database.open(t.project.dbPath);
  const hooks = new HookRunner({
    hooks: t.config.hooks,
    db,
    cwd: t.target,
    report: (line) => opts.report(opts.targets.length > 1 ? `[${t.label}] ${line}` : line),
  });
  try {
    if (stop.stopped) {
      return { target: t, result: null, error: `not started: ${stop.message ?? "stopped"}` };
    }
    if (wasQueued && !stillQueuedBy(db, t.target, opts.broker)) {
      return {
        target: t,
        result: null,
        error: "not started: taken out of the queue by `cmcs stop`",
      };
    }
    const result = await runTarget({
      db,
      project: t.project,
      config: t.config,
      target: t.target,
      ticketsDir: t.ticketsDir,
      broker: opts.broker,
      stop,
      progress: (p) => {
        if (p.kind === "run_started") clearQueued(db, t.target, opts.broker);
        opts.progress(p);
        hooks.onProgress(p);
      },
    });
    return { target: t, result, error: null };
  } catch (error) {
    if (error instanceof TargetBusyError) {
      return {
        target: t,
        result: null,
        error:
          `${t.label}: run ${error.run.id} is already running there (broker pid ${error.run.broker_pid})`,
      };
    }
    throw error;
  } finally {
    clearQueued(db, t.target, opts.broker);
    release();
    await hooks.drain();
    db.close();
  }
}
