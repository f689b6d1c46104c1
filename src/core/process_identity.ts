/**
 * A process is identified by its pid **and** its start time, so a pid the OS has handed to another
 * process is never mistaken for the original (the earlier tool signalled unrelated processes and
 * kept dead runs "running" that way).
 */
import { procReader } from "./proc_reader.ts";

const STAT_START_FIELD = 22;

/**
 * An opaque token that changes when `pid` is reused: the start time in clock ticks since boot
 * from `/proc/<pid>/stat` on Linux, `ps -o lstart=` elsewhere. Null when there is no such process
 * (or it is a zombie, which is as good as gone).
 */
export function processStartToken(pid: number): string | null {
  return processStartTokens([pid]).get(pid) ?? null;
}

/**
 * {@link processStartToken} without starting a process from the broker: through its /proc helper
 * (src/core/proc_reader.ts) when it uses one and cannot read `/proc` itself, else as
 * {@link processStartToken}. The helper failing falls back to that too.
 */
export async function processStartTokenAsync(pid: number): Promise<string | null> {
  if (Deno.build.os === "linux" && !procReadable && Number.isInteger(pid) && pid > 0) {
    const text = await procReader()?.stats([pid]);
    if (text !== undefined && text !== null) {
      return parseProcStats(text).find((stat) => stat.pid === pid)?.start ?? null;
    }
  }
  return processStartToken(pid);
}

/**
 * {@link processStartToken} of several pids at once, with at most one helper process (cmcs cannot
 * read `/proc` itself): checking every running run's broker costs one `cat`, not one per run.
 * Invalid pids map to null.
 */
export function processStartTokens(pids: number[]): Map<number, string | null> {
  const tokens = _readStartTokens(pids);
  return new Map(pids.map((pid) => [pid, tokens?.get(pid) ?? null]));
}

/** The start tokens of the valid pids that run, or null when the process table could not be read. */
function _readStartTokens(pids: number[]): Map<number, string | null> | null {
  const valid = [...new Set(pids.filter((pid) => Number.isInteger(pid) && pid > 0))];
  if (valid.length === 0) return new Map();
  return Deno.build.os === "linux" ? linuxStartTokens(valid) : psStartTokens(valid);
}

/**
 * Deno lets a program read `/proc` only with every permission granted (`-A`); cmcs runs with a
 * narrower list, so then the same files are read through one `cat`. Both give the same token, so
 * a broker started with one permission set is recognised by a command run with the other.
 */
let procReadable = true;

/**
 * The `/proc/<pid>/stat` files of `pids` that exist, one after the other; one `cat` when needed.
 * Null when `cat` could not be started (no process slots left, say): nothing is known then.
 */
function readProcStats(pids: number[]): string | null {
  if (procReadable) {
    let text = "";
    for (const pid of pids) {
      try {
        text += Deno.readTextFileSync(`/proc/${pid}/stat`);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotCapable)) continue;
        procReadable = false;
        break;
      }
    }
    if (procReadable) return text;
  }
  try {
    // cat prints the files that exist and exits 1 for the others: the output is read either way.
    const out = new Deno.Command("cat", {
      args: pids.map((pid) => `/proc/${pid}/stat`),
      stdin: "null",
      stderr: "null",
    }).outputSync();
    return new TextDecoder().decode(out.stdout);
  } catch {
    return null;
  }
}

/**
 * One stat record: pid, the command name in parentheses (up to 16 bytes that may hold spaces,
 * parentheses or even a newline), the state letter, then numeric fields up to the newline. The
 * lazy name stops at the first `) S ` after which no `)` comes before the newline: the real end.
 */
const STAT_RECORD = /(\d+) \(([\s\S]{0,64}?)\) ([A-Za-z]) ([^\n)]*)(?:\n|$)/g;

/** A live process as `/proc/<pid>/stat` describes it. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** Start time in clock ticks since boot: the token {@link processStartToken} returns. */
  start: string;
}

/**
 * Parses `/proc/<pid>/stat` records read one after another (by `cat /proc/…/stat` or in-process),
 * leaving out zombies and dead tasks. A command name with spaces, parentheses or a newline in it
 * (a process can name itself so) does not break the record or the ones after it.
 */
export function parseProcStats(text: string): ProcStat[] {
  const out: ProcStat[] = [];
  for (const match of text.matchAll(STAT_RECORD)) {
    // fields[0] is field 4 (ppid); pgid is field 5, the start time field 22.
    const fields = match[4].split(" ");
    const start = fields[STAT_START_FIELD - 4];
    if (match[3] === "Z" || match[3] === "X" || !start || !/^\d+$/.test(start)) continue;
    out.push({ pid: Number(match[1]), ppid: Number(fields[0]), pgid: Number(fields[1]), start });
  }
  return out;
}

function linuxStartTokens(pids: number[]): Map<number, string | null> | null {
  const text = readProcStats(pids);
  if (text === null) return null;
  const tokens = new Map<number, string | null>();
  for (const stat of parseProcStats(text)) {
    if (pids.includes(stat.pid) && !tokens.has(stat.pid)) tokens.set(stat.pid, stat.start);
  }
  return tokens;
}

function psStartTokens(pids: number[]): Map<number, string | null> | null {
  const tokens = new Map<number, string | null>(pids.map((pid) => [pid, null]));
  try {
    const out = new Deno.Command("ps", {
      args: ["-o", "pid=,lstart=,stat=", "-p", pids.join(",")],
      stdin: "null",
      stderr: "null",
    }).outputSync();
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      const match = /^\s*(\d+)\s+(.*\S)\s+(\S+)\s*$/.exec(line);
      if (!match || match[3].startsWith("Z")) continue;
      const pid = Number(match[1]);
      if (tokens.has(pid)) tokens.set(pid, match[2]);
    }
  } catch {
    return null;
  }
  return tokens;
}

/**
 * True when `pid` is running and, if `startToken` is given, is the same process that was recorded.
 * A recorded process without a token (older rows) falls back to a plain existence check.
 */
export function isSameProcessAlive(
  pid: number | null | undefined,
  startToken: string | null | undefined,
): boolean {
  return sameProcessesAlive([{ pid, start: startToken }])[0];
}

/**
 * {@link isSameProcessAlive} for several processes, reading their start tokens in one go. The
 * answers are in the order of `processes`. When the process table cannot be read at all (`cat`
 * or `ps` cannot start), every process counts as alive: a run is never declared orphaned, and its
 * worker killed, on a failed look.
 */
export function sameProcessesAlive(
  processes: { pid: number | null | undefined; start: string | null | undefined }[],
): boolean[] {
  const pids = processes.map((p) => p.pid).filter((pid): pid is number => !!pid && pid > 0);
  const tokens = _readStartTokens(pids);
  return processes.map(({ pid, start }) => {
    if (!pid || pid <= 0) return false;
    if (tokens === null) return true;
    const current = tokens.get(pid) ?? null;
    return current !== null && (!start || current === start);
  });
}
