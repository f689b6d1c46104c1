/**
 * A process is identified by its pid **and** its start time, so a pid the OS has handed to another
 * process is never mistaken for the original (the earlier tool signalled unrelated processes and
 * kept dead runs "running" that way).
 */

const STAT_START_FIELD = 22;

/**
 * An opaque token that changes when `pid` is reused: the start time in clock ticks since boot
 * from `/proc/<pid>/stat` on Linux, `ps -o lstart=` elsewhere. Null when there is no such process
 * (or it is a zombie, which is as good as gone).
 */
export function processStartToken(pid: number): string | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (Deno.build.os === "linux") return linuxStartToken(pid);
  return psStartToken(pid);
}

/**
 * Deno lets a program read `/proc` only with every permission granted (`-A`); cmcs runs with a
 * narrower list, so then the same file is read through `cat`. Both give the same token, so a
 * broker started with one permission set is recognised by a command run with the other.
 */
let procReadable = true;

function readProcStat(pid: number): string | null {
  const path = `/proc/${pid}/stat`;
  if (procReadable) {
    try {
      return Deno.readTextFileSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotCapable)) return null;
      procReadable = false;
    }
  }
  try {
    const out = new Deno.Command("cat", { args: [path], stdin: "null", stderr: "null" })
      .outputSync();
    return out.code === 0 ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null;
  }
}

function linuxStartToken(pid: number): string | null {
  const stat = readProcStat(pid);
  if (stat === null || stat === "") return null;
  // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
  const afterName = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = afterName[0];
  if (state === "Z" || state === "X") return null;
  return afterName[STAT_START_FIELD - 3] ?? null;
}

function psStartToken(pid: number): string | null {
  try {
    const out = new Deno.Command("ps", {
      args: ["-o", "lstart=,stat=", "-p", String(pid)],
      stdin: "null",
    })
      .outputSync();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (out.code !== 0 || text === "" || /\sZ\S*$/.test(text)) return null;
    return text.replace(/\s+\S+$/, "");
  } catch {
    return null;
  }
}

/**
 * True when `pid` is running and, if `startToken` is given, is the same process that was recorded.
 * A recorded process without a token (older rows) falls back to a plain existence check.
 */
export function isSameProcessAlive(
  pid: number | null | undefined,
  startToken: string | null | undefined,
): boolean {
  if (!pid || pid <= 0) return false;
  const current = processStartToken(pid);
  if (current === null) return false;
  return !startToken || current === startToken;
}
