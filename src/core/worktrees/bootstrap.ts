/**
 * Bootstrapping a new worktree from the main checkout: the files git ignores that a worktree
 * still needs (`.env`, local config), chosen by `worktrees.copy` and `.worktreeinclude`, and the
 * tickets picked with `worktree create --tickets`.
 */
import { dirname, join, relative } from "../path.ts";
import { UserError } from "../errors.ts";
import { git } from "../git.ts";
import { exists } from "../project.ts";
import { compareTicketNames } from "../tickets.ts";
import { childOutput } from "../child_output.ts";

/** The file in the main checkout listing more files to copy, gitignore-style. */
export const WORKTREE_INCLUDE = ".worktreeinclude";

export interface CopyPlan {
  /** Paths relative to the main checkout, to copy. */
  files: string[];
  /** Files matching a pattern that git does not ignore: a worktree gets those from git. */
  notIgnored: string[];
  /** `worktrees.copy` patterns that matched no file at all. */
  unmatched: string[];
}

/**
 * Which files to copy: untracked files of the main checkout matching a `worktrees.copy` pattern
 * or a line of `.worktreeinclude` (both gitignore-style, matched by git itself) **and** ignored
 * by git. `skip` drops paths cmcs must never copy (its database and logs, the worktrees root).
 */
export async function planCopy(
  root: string,
  patterns: readonly string[],
  skip: (rel: string) => boolean,
): Promise<CopyPlan> {
  const matched = new Set<string>();
  const unmatched: string[] = [];
  for (const pattern of patterns) {
    const files = await _untrackedMatching(root, ["--exclude", pattern]);
    if (files.length === 0) unmatched.push(pattern);
    for (const file of files) matched.add(file);
  }
  if (exists(join(root, WORKTREE_INCLUDE))) {
    for (const file of await _untrackedMatching(root, ["--exclude-from", WORKTREE_INCLUDE])) {
      matched.add(file);
    }
  }
  const candidates = [...matched].filter((rel) => !rel.endsWith("/") && !skip(rel)).sort();
  const ignored = await _ignored(root, candidates);
  return {
    files: candidates.filter((rel) => ignored.has(rel)),
    notIgnored: candidates.filter((rel) => !ignored.has(rel)),
    unmatched,
  };
}

async function _untrackedMatching(root: string, excludeArgs: string[]): Promise<string[]> {
  const result = await git(root, ["ls-files", "-z", "--others", "--ignored", ...excludeArgs]);
  if (result.code !== 0) {
    throw new UserError(`cannot list files to copy in ${root}: ${result.stderr.trim()}`);
  }
  return result.stdout.split("\0").filter((f) => f !== "");
}

async function _ignored(root: string, paths: string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const child = new Deno.Command("git", {
    args: ["check-ignore", "-z", "--stdin"],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(paths.join("\0") + "\0"));
  await writer.close();
  const out = new TextDecoder().decode((await childOutput(child)).stdout);
  return new Set(out.split("\0").filter((p) => p !== ""));
}

/** Copies `files` (relative paths) from `from` to `to`, creating folders; symlinks stay links. */
export async function copyFiles(from: string, to: string, files: readonly string[]): Promise<void> {
  for (const rel of files) {
    const source = join(from, rel);
    const target = join(to, rel);
    await Deno.mkdir(dirname(target), { recursive: true });
    const info = await Deno.lstat(source);
    if (info.isSymlink) {
      await Deno.remove(target).catch(() => {});
      await Deno.symlink(await Deno.readLink(source), target);
    } else {
      await Deno.copyFile(source, target);
    }
  }
}

/**
 * A shell-style glob for ticket file names (`*`, `?`, `[a-z]`, `{a,b}`) as a RegExp matching the
 * whole name. A glob without `.md` also matches the name without it, so `TICKET-00[1-3]` works.
 */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  let inClass = false;
  let classStart = false;
  let braces = 0;
  for (const char of glob) {
    if (inClass) {
      if (classStart && char === "!") source += "^";
      else if (char === "]" && !classStart) {
        inClass = false;
        source += char;
      } else source += char === "\\" ? "\\\\" : char;
      classStart = false;
      continue;
    }
    switch (char) {
      case "*":
        source += "[^/]*";
        break;
      case "?":
        source += "[^/]";
        break;
      case "[":
        inClass = true;
        classStart = true;
        source += "[";
        continue;
      case "{":
        braces++;
        source += "(?:";
        break;
      case "}":
        if (braces > 0) {
          braces--;
          source += ")";
        } else source += "\\}";
        break;
      case ",":
        source += braces > 0 ? "|" : ",";
        break;
      default:
        source += char.replace(/[.+^$()|\\]/g, "\\$&");
    }
  }
  if (inClass || braces > 0) {
    throw new UserError(`invalid glob "${glob}": an unclosed [ or {`, {
      hint: 'quote the glob in the shell, e.g. --tickets "TICKET-00[1-3]*"',
    });
  }
  try {
    return new RegExp(`^${source}(?:\\.md)?$`);
  } catch {
    throw new UserError(`invalid glob "${glob}"`, {
      hint: 'use *, ?, [a-z] and {a,b}, e.g. --tickets "TICKET-00[1-3]*"',
    });
  }
}

/** Ticket files (names) in `ticketsDir` matching `glob`, in ticket order. */
export async function matchTickets(ticketsDir: string, glob: string): Promise<string[]> {
  const pattern = globToRegExp(glob);
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(ticketsDir)) {
      if (entry.isFile && /^TICKET-.*\.md$/.test(entry.name) && pattern.test(entry.name)) {
        names.push(entry.name);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort(compareTicketNames);
}

/** The path of `file` relative to `dir`, with `/` separators. */
export function relativePosix(dir: string, file: string): string {
  return relative(dir, file).replaceAll("\\", "/");
}
