/** Where cmcs puts worktrees, and the containment check every removal goes through. */
import { isAbsolute, join, relative, resolve, sep } from "../path.ts";
import { UserError } from "../errors.ts";
import type { Config } from "../config.ts";
import type { Project } from "../project.ts";

/** `<main checkout>/<worktrees.root>`, absolute (the directory may not exist yet). */
export function worktreesRoot(project: Project, config: Config): string {
  return resolve(project.root, config.worktrees.root);
}

/** Where the worktree of `branch` goes: `<worktrees root>/<branch>` (a `/` nests directories). */
export function worktreePathFor(root: string, branch: string): string {
  const path = resolve(root, ...branch.split("/"));
  if (!isStrictlyInside(path, root)) {
    throw new UserError(`branch name "${branch}" would put its worktree outside ${root}`);
  }
  return path;
}

/** True when `path` is below `dir` (not `dir` itself); both absolute. */
export function isStrictlyInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * The real (symlink-resolved) path of the worktrees root, or null when it does not exist. A
 * removal compares real paths, so a symlink inside the root cannot lead it elsewhere.
 */
export async function realWorktreesRoot(project: Project, config: Config): Promise<string | null> {
  try {
    return await Deno.realPath(worktreesRoot(project, config));
  } catch {
    return null;
  }
}

/** How a target is shown: relative to the main checkout (`.` for the checkout itself). */
export function targetLabel(project: Project, path: string): string {
  const rel = relative(project.root, path);
  if (rel === "") return ".";
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

/** A file name for per-branch logs: the branch with `/` kept as directories. */
export function branchLogDir(project: Project, branch: string): string {
  return join(project.logsDir, "worktrees", ...branch.split("/"));
}
