/** Thin wrapper over the `git` executable: every call is explicit about its directory. */
import { type EndedBy, runStep, type StepBound } from "./bounded_step.ts";

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when cmcs ended git (and its hooks) before it finished; `code` is then non-zero. */
  endedBy?: EndedBy;
}

/** How {@link git} runs one call; everything is optional. */
export interface GitOptions extends StepBound {
  /**
   * Run git in a session of its own, out of reach of a Ctrl-C in cmcs's terminal: for steps that
   * must not stop halfway, such as committing a finished ticket (cmcs ends them itself, through
   * `signal`, after `patienceS`). A time bound or a `signal` implies it: git's hooks are then in
   * git's process group, and ending the group ends a hook that hangs.
   */
  detached?: boolean;
}

/**
 * Runs `git <args>` in `cwd` and returns its exit code and output; never throws on a git error.
 * A detached call ({@link GitOptions}) costs a fork of the broker, so it is for the steps that
 * need it (those that run hooks) only. A call cmcs ended — `timeoutS` passed, or `signal` fired
 * and `patienceS` passed — fails with a last stderr line saying so (`git commit did not finish
 * within 600s (a hook that hangs?) and was ended`), which callers pass on as git's message.
 */
export async function git(
  cwd: string,
  args: string[],
  env?: Record<string, string>,
  opts: GitOptions = {},
): Promise<GitResult> {
  const decoder = new TextDecoder();
  try {
    const detached = opts.detached || opts.timeoutS !== undefined || opts.signal !== undefined;
    if (detached) {
      const out = await runStep({ command: "git", args, cwd, env }, opts);
      const stderr = decoder.decode(out.stderr);
      // Exit 0 despite the end: git finished just as it was ended, and what it did stands.
      if (!out.endedBy || out.code === 0) {
        return { code: out.code ?? 128, stdout: decoder.decode(out.stdout), stderr };
      }
      return {
        code: out.code || 128,
        stdout: decoder.decode(out.stdout),
        stderr: `${stderr.trimEnd()}\n${endedLine(args, out.endedBy, opts)}`.trimStart(),
        endedBy: out.endedBy,
      };
    }
    const out = await new Deno.Command("git", {
      args,
      cwd,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { code: 127, stdout: "", stderr: "git is not installed or not on PATH" };
    }
    throw error;
  }
}

/** What cmcs did to a git call it ended, naming the subcommand (the first word not an option). */
function endedLine(args: string[], why: EndedBy, opts: StepBound): string {
  const name = `git ${args.find((a) => !a.startsWith("-")) ?? ""}`.trimEnd();
  return why === "timeout"
    ? `${name} did not finish within ${opts.timeoutS}s (a hook that hangs?) and was ended`
    : `${name} was ended by a stop (still running ${opts.patienceS ?? 0}s after it)`;
}

/** Like {@link git} but throws an Error naming the command and git's message when it fails. */
export async function gitOk(
  cwd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<string> {
  const result = await git(cwd, args, env);
  if (result.code !== 0) {
    const detail = (result.stderr || result.stdout).trim().split("\n").slice(-3).join(" / ");
    throw new Error(`git ${args.join(" ")} failed in ${cwd}: ${detail}`);
  }
  return result.stdout;
}

/** The commit `HEAD` points to, or null in a repository with no commits (or not a repository). */
export async function headCommit(cwd: string): Promise<string | null> {
  const result = await git(cwd, ["rev-parse", "--verify", "--quiet", "HEAD"]);
  return result.code === 0 ? result.stdout.trim() : null;
}

/** The checked-out branch name, or null when HEAD is detached or `cwd` is not a repository. */
export async function currentBranch(cwd: string): Promise<string | null> {
  const result = await git(cwd, ["symbolic-ref", "--quiet", "--short", "HEAD"]);
  return result.code === 0 ? result.stdout.trim() : null;
}

/** One file of `git diff --numstat`; the counts are null for a binary file. */
export interface NumstatEntry {
  path: string;
  added: number | null;
  removed: number | null;
}

/**
 * Parses the output of `git diff --numstat -z --no-renames`: NUL-separated
 * `added<TAB>removed<TAB>path` records, `-` counts for binary files. Paths are taken as git wrote
 * them (with `-z` nothing is quoted, so a path may hold tabs or newlines); anything else is skipped.
 */
export function parseNumstat(text: string): NumstatEntry[] {
  const changes: NumstatEntry[] = [];
  for (const entry of text.split("\0")) {
    const match = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(entry.replace(/^\n/, ""));
    if (!match) continue;
    changes.push({
      path: match[3],
      added: match[1] === "-" ? null : Number(match[1]),
      removed: match[2] === "-" ? null : Number(match[2]),
    });
  }
  return changes;
}

/**
 * The empty tree's id in the repository at `dir` (what a diff from "before the first commit"
 * starts at), computed so a SHA-256 repository gets its own; SHA-1's well-known id if git fails.
 */
export async function emptyTree(dir: string): Promise<string> {
  const out = await git(dir, ["hash-object", "-t", "tree", "/dev/null"]);
  return out.stdout.trim() || "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
}
