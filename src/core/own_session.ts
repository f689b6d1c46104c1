/**
 * Starting a process in a session (and process group) of its own without forking the broker.
 *
 * Why: the worker and the steps that must not stop halfway (git with its hooks, worktree setup
 * and archive commands) run in their own session, so a Ctrl-C in cmcs's terminal reaches cmcs
 * only, and ending the group (`Deno.kill(-pid)`) reaches everything they started. Deno's
 * `detached: true` gets there by forking the whole broker (over 100 MiB) to call `setsid()` before
 * `exec`: 4–8 ms per process here, against under 1 ms for a plain spawn, which Deno makes with
 * `posix_spawn` (`clone(CLONE_VM|CLONE_VFORK)`: nothing of the broker is copied). A plain spawn of
 * the `setsid` program (util-linux, or BusyBox) costs a plain spawn plus one `exec`: `setsid`
 * starts in the broker's process group without leading it, so it calls `setsid()` and execs the
 * command in place (it forks only when its caller leads a process group, and never with the
 * arguments given here). The pid Deno returns is therefore the command's own pid, its process
 * group id and its session id, exactly as with `detached: true`, and its exit status is the
 * command's.
 *
 * Edge cases:
 * - Where no `setsid` program is found in the usual places (macOS, a minimal image), the start
 *   falls back to `detached: true`. The program is looked for once, at fixed paths: cmcs does not
 *   read `PATH` (permissions.txt).
 * - A command that cannot be started: with `detached: true`, `spawn()` throws `NotFound` (or
 *   `PermissionDenied`). Through `setsid`, a command given as a path is checked before the start
 *   (so the same errors are thrown), while a bare name is looked up on `PATH` by `setsid`, which
 *   then exits 127 (not found) or 126 (not executable) with one `setsid: …` line on stderr and no
 *   output: {@link startFailure} turns that back into the same error, so callers report a missing
 *   worker or git exactly as before.
 * - For the short time between the start and `setsid()` (the `setsid` program's first
 *   instructions), the process is still in cmcs's process group: a Ctrl-C landing then ends it
 *   before the command itself runs (a git commit is then not made, never made halfway), and a
 *   signal to its group finds no group yet (the process itself is still signalled by pid).
 */

/** Where the `setsid` program is looked for, in order. */
const SETSID_PATHS = ["/usr/bin/setsid", "/bin/setsid", "/usr/local/bin/setsid"];

let setsidPath: string | null | undefined;

/** The `setsid` program to start commands through, or null to fall back to `detached: true`. */
export function setsidProgram(): string | null {
  if (setsidPath === undefined) {
    setsidPath = null;
    if (Deno.build.os === "linux") {
      for (const path of SETSID_PATHS) {
        try {
          const info = Deno.statSync(path);
          if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) {
            setsidPath = path;
            break;
          }
        } catch { /* not there */ }
      }
    }
  }
  return setsidPath;
}

/** For the tests: start through `setsid` (the default where found) or force `detached: true`. */
export function _useSetsid(use: boolean): void {
  setsidPath = use ? undefined : null;
}

/** A child started in its own session, and whether it went through the `setsid` program. */
export interface SessionChild {
  child: Deno.ChildProcess;
  /** True when started through `setsid`. */
  viaSetsid: boolean;
  /**
   * The command, a bare name started through `setsid`, was looked up on `PATH` by `setsid`: only
   * its exit tells whether it was found (see {@link startFailure}). Null otherwise.
   */
  lookedUp: string | null;
}

/**
 * Spawns `command` as `new Deno.Command(command, options).spawn()` with `detached: true` would
 * (see the module comment): same pid, same streams, same errors for a command given as a path.
 */
export function spawnInOwnSession(command: string, options: Deno.CommandOptions): SessionChild {
  const setsid = setsidProgram();
  if (setsid === null) {
    return {
      child: new Deno.Command(command, { ...options, detached: true }).spawn(),
      viaSetsid: false,
      lookedUp: null,
    };
  }
  const path = command.includes("/");
  if (path) checkExecutable(command, options.cwd);
  const child = new Deno.Command(setsid, {
    ...options,
    args: [command, ...(options.args ?? [])],
    detached: false,
  }).spawn();
  return { child, viaSetsid: true, lookedUp: path ? null : command };
}

/**
 * Throws what `spawn()` would for a command path that does not exist (`NotFound`) or cannot be
 * executed (`PermissionDenied`): a directory, or a file without an execute bit. A relative path is
 * taken from `cwd`, as Deno does.
 */
function checkExecutable(command: string, cwd: string | URL | undefined): void {
  const base = cwd === undefined ? Deno.cwd() : cwd instanceof URL ? cwd.pathname : cwd;
  const path = command.startsWith("/") ? command : `${base}/${command}`;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      throw new Deno.errors.NotFound(`No such file or directory (os error 2): ${command}`);
    }
    throw error;
  }
  if (!info.isFile || ((info.mode ?? 0) & 0o111) === 0) {
    throw new Deno.errors.PermissionDenied(`Permission denied (os error 13): ${command}`);
  }
}

/**
 * The error `spawn()` would have thrown for a bare command name `setsid` looked up and could not
 * start ({@link SessionChild.lookedUp}): `setsid` exited 127 (not found) or 126 (cannot execute)
 * having written nothing to stdout and only its own one line, `setsid: …` naming the command
 * (worded in the user's language), to stderr. Null when the command ran, whatever its exit: a
 * command given as a path was checked before the start and is never judged by its exit.
 */
export function startFailure(
  lookedUp: string | null,
  status: { code: number; signal: Deno.Signal | null },
  stdoutBytes: number,
  stderr: string,
): Error | null {
  if (lookedUp === null || status.signal !== null || stdoutBytes > 0) return null;
  if (status.code !== 127 && status.code !== 126) return null;
  const line = stderr.trim();
  if (!line.startsWith("setsid: ") || line.includes("\n") || !line.includes(lookedUp)) {
    return null;
  }
  return status.code === 127
    ? new Deno.errors.NotFound(line)
    : new Deno.errors.PermissionDenied(line);
}
