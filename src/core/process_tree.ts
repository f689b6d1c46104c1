/**
 * Finding and ending every process started for a worker. Codex runs its commands in process
 * groups of their own and a SIGTERM to Codex orphans their children (../shared/codex/README.md
 * §5), so the tree is found three ways: parent links from the root, members of process groups led
 * by a process of the tree, and the `CMCS_ATTEMPT_ID` the runner puts in every worker's
 * environment (inherited by everything the worker starts, even after it was reparented to init).
 * Every process is remembered with its start token and only signalled while that still matches, so
 * a pid the OS has reused is never touched.
 */

import {
  isSameProcessAlive,
  parseProcStats,
  processStartToken,
  type ProcStat,
} from "./process_identity.ts";
import { procReader } from "./proc_reader.ts";

/** A live process: pid, parent, group and start token (from `/proc` or `ps`). */
export type ProcInfo = ProcStat;

export type KillStep = "SIGINT" | "SIGTERM" | "SIGKILL";

export interface KillTreeOptions {
  /** The worker process (the root of the tree). */
  pid: number;
  /**
   * The root's start token as recorded at spawn. When given and the pid now belongs to another
   * process (or none), the root is treated as gone and never signalled; only token carriers are
   * ended. Without it the root is whatever process has `pid` right now.
   */
  start?: string | null;
  /** The attempt's `CMCS_ATTEMPT_ID`, or null to follow parent links and groups only. */
  token: string | null;
  /** Seconds the root gets to end its turn after SIGINT. */
  graceS: number;
  /**
   * The caller has already reaped the root (awaited its exit status), so its pid may name another
   * process by now: the root is never looked up or signalled, and the tree is what carries the
   * token. When nothing does, one look at the environments settles it without a full snapshot.
   */
  rootReaped?: boolean;
  /** Seconds the tree gets after SIGTERM before SIGKILL (default 2). */
  termGraceS?: number;
  /** Called for each batch of signals sent; a step may report several batches as the tree is re-scanned. */
  onStep?: (step: KillStep, pids: number[]) => void;
}

const POLL_MS = 100;
const DEFAULT_TERM_GRACE_S = 2;
/** How long to wait for SIGKILLed processes to disappear before reporting them as survivors. */
const KILL_WAIT_S = 5;
const TOKEN_VAR = "CMCS_ATTEMPT_ID";

/** The process table at one moment, and which of its processes carry a given token. */
interface Snapshot {
  procs: ProcInfo[];
  tokenPids: number[];
}

/** Every live process (zombies excluded): `/proc` on Linux, `ps` elsewhere. */
export function listProcesses(): ProcInfo[] {
  return snapshot(null).procs;
}

/**
 * Pids of the processes whose environment holds `CMCS_ATTEMPT_ID=<token>`: on Linux from
 * `/proc/<pid>/environ` (readable for the user's own processes, which is all cmcs starts; it is
 * the environment the process was started with, which is what children inherit), elsewhere from
 * `ps`, best effort. The calling process is never included.
 */
export function processesWithToken(token: string): number[] {
  if (token === "") return [];
  const pids = Deno.build.os === "linux" ? linuxTokenCarriers(token) : psSnapshot(token).tokenPids;
  return pids.filter((pid) => pid !== Deno.pid);
}

/**
 * {@link processesWithToken} through the broker's /proc helper (src/core/proc_reader.ts) when it
 * uses one and cannot read `/proc` itself: the search then starts no process from the broker and
 * does not block it. The helper failing falls back to {@link processesWithToken}.
 */
export async function processesWithTokenAsync(token: string): Promise<number[]> {
  if (token !== "" && Deno.build.os === "linux" && !procDirect) {
    const pids = await procReader()?.carriers(`${TOKEN_VAR}=${token}`);
    if (pids) return pids.filter((pid) => pid !== Deno.pid);
  }
  return processesWithToken(token);
}

function snapshot(token: string | null): Snapshot {
  const shot = Deno.build.os === "linux" ? linuxSnapshot(token) : psSnapshot(token);
  return { procs: shot.procs, tokenPids: shot.tokenPids.filter((pid) => pid !== Deno.pid) };
}

/**
 * Deno reads `/proc` only when every permission is granted (`-A`), and cmcs runs with a narrower
 * list; then one `sh` reads the whole table (and greps the environments) per snapshot instead.
 */
let procDirect = true;

function linuxSnapshot(token: string | null): Snapshot {
  if (procDirect) {
    try {
      return directSnapshot(token);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotCapable)) throw error;
      procDirect = false;
    }
  }
  return shellSnapshot(token);
}

/** The token carriers alone: the environments are read, the (slower) stat files are not. */
function linuxTokenCarriers(token: string): number[] {
  if (procDirect) {
    try {
      return directSnapshot(token, false).tokenPids;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotCapable)) throw error;
      procDirect = false;
    }
  }
  const text = runQuiet("sh", ["-c", CARRIERS_SCRIPT, "sh", `${TOKEN_VAR}=${token}`]);
  return [...text.matchAll(/\/proc\/(\d+)\/environ/g)].map((m) => Number(m[1]));
}

function directSnapshot(token: string | null, withStats = true): Snapshot {
  const stats: string[] = [];
  const tokenPids: number[] = [];
  const needle = token === null ? null : `${TOKEN_VAR}=${token}`;
  const decoder = new TextDecoder();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    if (withStats) {
      try {
        stats.push(Deno.readTextFileSync(`/proc/${entry.name}/stat`));
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) throw error;
        continue; // the process ended meanwhile
      }
    }
    if (needle === null) continue;
    try {
      const environ = decoder.decode(Deno.readFileSync(`/proc/${entry.name}/environ`));
      if (environ.split("\0").includes(needle)) tokenPids.push(Number(entry.name));
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
    }
  }
  return { procs: parseProcStats(stats.join("\n")), tokenPids };
}

const TOKEN_MARKER = "@@cmcs-token-carriers@@";
const SNAPSHOT_SCRIPT = "cat /proc/[0-9]*/stat 2>/dev/null; " +
  `if [ -n "$1" ]; then echo; echo ${TOKEN_MARKER}; ` +
  'grep -lsxzF -e "$1" /proc/[0-9]*/environ 2>/dev/null; fi; exit 0';
const CARRIERS_SCRIPT = 'exec grep -lsxzF -e "$1" /proc/[0-9]*/environ 2>/dev/null';

function shellSnapshot(token: string | null): Snapshot {
  const arg = token === null ? "" : `${TOKEN_VAR}=${token}`;
  const text = runQuiet("sh", ["-c", SNAPSHOT_SCRIPT, "sh", arg]);
  const [stats, carriers = ""] = text.split(`\n${TOKEN_MARKER}\n`);
  const tokenPids = [...carriers.matchAll(/\/proc\/(\d+)\/environ/g)].map((m) => Number(m[1]));
  return { procs: parseProcStats(stats), tokenPids };
}

function psSnapshot(token: string | null): Snapshot {
  // lstart last: it contains spaces. Its text is what processStartToken returns on these systems.
  const procs: ProcInfo[] = [];
  for (const line of runQuiet("ps", ["-axo", "pid=,ppid=,pgid=,stat=,lstart="]).split("\n")) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.+?)\s*$/.exec(line);
    if (!match || match[4].startsWith("Z")) continue;
    procs.push({
      pid: Number(match[1]),
      ppid: Number(match[2]),
      pgid: Number(match[3]),
      start: match[5],
    });
  }
  const tokenPids: number[] = [];
  if (token !== null) {
    const needle = ` ${TOKEN_VAR}=${token} `;
    for (const line of runQuiet("ps", ["-axwwe", "-o", "pid=,command="]).split("\n")) {
      const match = /^\s*(\d+)\s(.*)$/.exec(line);
      if (match && ` ${match[2]} `.includes(needle)) tokenPids.push(Number(match[1]));
    }
  }
  return { procs, tokenPids };
}

function runQuiet(command: string, args: string[]): string {
  try {
    const output = new Deno.Command(command, { args, stdin: "null", stderr: "null" }).outputSync();
    return new TextDecoder().decode(output.stdout);
  } catch {
    return "";
  }
}

/** The transitive children of `rootPid` (not the root itself), parents before their children. */
export function descendants(rootPid: number, all: ProcInfo[] = listProcesses()): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const proc of all) {
    if (proc.pid === proc.ppid) continue;
    const list = children.get(proc.ppid);
    if (list) list.push(proc);
    else children.set(proc.ppid, [proc]);
  }
  const out: ProcInfo[] = [];
  const seen = new Set<number>([rootPid]);
  const queue = [rootPid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** True when `pid` runs and is the process recorded with `start` (any process when `start` is null). */
export function isAlive(pid: number, start: string | null): boolean {
  return isSameProcessAlive(pid, start);
}

/**
 * Ends a worker's whole process tree and returns the pids still alive afterwards (normally none),
 * and how many processes the tree had when first looked at (`found`: 0 when nothing was left).
 *
 * 1. Snapshot: the root, its descendants, members of groups led by one of them, and every process
 *    carrying the token — each with its start token.
 *    With `rootReaped` and no process carrying the token, the tree is empty and nothing more is
 *    read.
 * 2. SIGINT to the root only and up to `graceS` for it to exit: Codex then interrupts its turn and
 *    kills the commands it started, which is its only clean way out (README §5). Skipped when
 *    `graceS` is 0 or the root is already gone.
 * 3. SIGTERM to everything left, re-scanned (new children, token carriers), and to the process
 *    groups led by one of them; up to `termGraceS` for them to go.
 * 4. SIGKILL to whatever is still there, repeated until it is gone or a few seconds passed.
 *
 * Never signals the calling process, its process group or pid 1, and never throws because one
 * process vanished or refused a signal. A zombie counts as gone: reaping it is its parent's job
 * (the runner awaits the root's status).
 */
export async function killProcessTree(
  opts: KillTreeOptions,
): Promise<{ survivors: number[]; found: number }> {
  if (
    opts.rootReaped &&
    (opts.token === null || (await processesWithTokenAsync(opts.token)).length === 0)
  ) {
    return { survivors: [], found: 0 };
  }
  const tree = new TreeTracker(opts);
  const found = tree.scan().length;
  if (found === 0) return { survivors: [], found };

  if (opts.graceS > 0 && tree.root !== null) {
    tree.signal("SIGINT", [tree.root]);
    await waitUntil(() => !tree.rootAlive(), opts.graceS);
  }

  const afterInt = tree.scan();
  if (afterInt.length > 0) {
    tree.signal("SIGTERM", afterInt);
    await waitUntil(() => {
      const alive = tree.scan();
      const fresh = alive.filter((pid) => !tree.wasSent("SIGTERM", pid));
      if (fresh.length > 0) tree.signal("SIGTERM", fresh);
      return alive.length === 0;
    }, opts.termGraceS ?? DEFAULT_TERM_GRACE_S);
  }

  await waitUntil(() => {
    const alive = tree.scan();
    if (alive.length > 0) tree.signal("SIGKILL", alive, true);
    return alive.length === 0;
  }, KILL_WAIT_S);

  return { survivors: tree.scan(), found };
}

/** The processes of one tree, keyed by pid with the start token each had when first seen. */
class TreeTracker {
  readonly root: number | null;
  readonly #rootStart: string | null;
  readonly #token: string | null;
  readonly #onStep?: (step: KillStep, pids: number[]) => void;
  readonly #members = new Map<number, string>();
  readonly #sent = new Set<string>();
  /** This process's group, from the first scan: never signalled. */
  #selfPgid = -1;
  /** The process table of the last {@link scan}. */
  #table = new Map<number, ProcInfo>();

  constructor(opts: KillTreeOptions) {
    this.#token = opts.token;
    this.#onStep = opts.onStep;
    const current = opts.rootReaped ? null : processStartToken(opts.pid);
    const recorded = opts.start === undefined ? current : opts.start;
    const same = current !== null && (recorded === null || recorded === current);
    this.root = same && opts.pid > 1 && opts.pid !== Deno.pid ? opts.pid : null;
    this.#rootStart = this.root === null ? null : current;
  }

  /**
   * Adds the processes that now belong to the tree and returns the members still running as the
   * process first recorded. Members that ended stay recorded, so a reused pid is never adopted.
   */
  scan(): number[] {
    const shot = snapshot(this.#token);
    const byPid = new Map(shot.procs.map((proc) => [proc.pid, proc]));
    this.#table = byPid;
    if (this.#selfPgid === -1) this.#selfPgid = byPid.get(Deno.pid)?.pgid ?? -1;
    const same = (pid: number, start: string | null | undefined) =>
      start !== null && start !== undefined && byPid.get(pid)?.start === start;
    const seeds: number[] = [];
    if (this.root !== null && same(this.root, this.#rootStart)) seeds.push(this.root);
    for (const [pid, start] of this.#members) if (same(pid, start)) seeds.push(pid);
    for (const pid of shot.tokenPids) if (byPid.has(pid)) seeds.push(pid);
    const found = new Set<number>(seeds);
    for (const seed of seeds) for (const proc of descendants(seed, shot.procs)) found.add(proc.pid);
    const leaders = new Set([...found].filter((pid) => this.#leadsOwnGroup(byPid.get(pid))));
    for (const proc of shot.procs) if (leaders.has(proc.pgid)) found.add(proc.pid);
    for (const pid of found) {
      // A new process, or a new one of the tree on the pid of a member that ended.
      if (this.#signallable(pid) && !same(pid, this.#members.get(pid))) {
        this.#members.set(pid, byPid.get(pid)!.start);
      }
    }
    return [...this.#members].filter(([pid, start]) => same(pid, start)).map(([pid]) => pid);
  }

  rootAlive(): boolean {
    return this.root !== null && processStartToken(this.root) === this.#rootStart;
  }

  wasSent(step: KillStep, pid: number): boolean {
    return this.#sent.has(`${step}:${pid}:${this.#members.get(pid)}`);
  }

  /**
   * Sends `step` to each pid that is still the recorded process (checked against the table of the
   * scan just made: one snapshot costs tens of ms without `-A`, a pid is not reused that fast),
   * and except for SIGINT to the process group it leads. `repeat` re-sends to pids already
   * signalled (SIGKILL until gone); `onStep` hears about each pid once per step.
   */
  signal(step: KillStep, pids: number[], repeat = false): void {
    const reported: number[] = [];
    for (const pid of pids) {
      const start = this.#members.get(pid) ?? (pid === this.root ? this.#rootStart : null);
      const proc = this.#table.get(pid);
      if (start === null || proc?.start !== start || !this.#signallable(pid)) continue;
      const key = `${step}:${pid}:${start}`;
      if (this.#sent.has(key) && !repeat) continue;
      if (step !== "SIGINT" && this.#leadsOwnGroup(proc)) trySignal(-pid, step);
      trySignal(pid, step);
      if (!this.#sent.has(key)) reported.push(pid);
      this.#sent.add(key);
    }
    if (reported.length > 0) this.#onStep?.(step, reported);
  }

  #leadsOwnGroup(proc: ProcInfo | undefined): boolean {
    return proc !== undefined && proc.pgid === proc.pid && proc.pgid !== this.#selfPgid &&
      proc.pgid > 1;
  }

  #signallable(pid: number): boolean {
    return pid > 1 && pid !== Deno.pid && pid !== this.#selfPgid;
  }
}

function trySignal(pid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(pid, signal);
    return true;
  } catch {
    // ESRCH (already gone) or EPERM (not ours): nothing more to do for this one.
    return false;
  }
}

async function waitUntil(done: () => boolean, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (true) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, deadline - Date.now())));
  }
}
