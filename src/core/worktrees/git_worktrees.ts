/** What git knows about a repository's worktrees and branches, asked through the `git` executable. */
import { UserError } from "../errors.ts";
import { git, gitOk } from "../git.ts";

export interface GitWorktree {
  /** As git reports it (absolute). */
  path: string;
  head: string | null;
  /** Short branch name (`feat/x`), or null when HEAD is detached. */
  branch: string | null;
  bare: boolean;
  locked: boolean;
  /** Git would prune it: its directory is gone. */
  prunable: boolean;
}

/** Every worktree of the repository at `root` (the main checkout first), from `--porcelain -z`. */
export async function gitWorktrees(root: string): Promise<GitWorktree[]> {
  const out = await gitOk(root, ["worktree", "list", "--porcelain", "-z"]);
  const worktrees: GitWorktree[] = [];
  let current: GitWorktree | null = null;
  for (const field of out.split("\0")) {
    if (field === "") {
      if (current) worktrees.push(current);
      current = null;
      continue;
    }
    const space = field.indexOf(" ");
    const key = space === -1 ? field : field.slice(0, space);
    const value = space === -1 ? "" : field.slice(space + 1);
    if (key === "worktree") {
      if (current) worktrees.push(current);
      current = {
        path: value,
        head: null,
        branch: null,
        bare: false,
        locked: false,
        prunable: false,
      };
      continue;
    }
    if (!current) continue;
    if (key === "HEAD") current.head = value;
    else if (key === "branch") current.branch = value.replace(/^refs\/heads\//, "");
    else if (key === "bare") current.bare = true;
    else if (key === "locked") current.locked = true;
    else if (key === "prunable") current.prunable = true;
  }
  if (current) worktrees.push(current);
  return worktrees;
}

/**
 * Checks `name` the way git does (`git check-ref-format --branch`) and returns it; a clear error
 * otherwise. Names git would expand (`@{-1}`) or that look like options are refused too.
 */
export async function validateBranchName(root: string, name: string): Promise<string> {
  const bad = (why: string): never => {
    throw new UserError(`invalid branch name "${name}": ${why}`, {
      hint: "use letters, digits, -, _, . and / (e.g. feat/login); see `git check-ref-format`",
    });
  };
  if (name.trim() === "") bad("it is empty");
  if (name.startsWith("-")) bad("it starts with -");
  if (name.includes("@{")) bad("it contains @{");
  if (name === "HEAD") bad("HEAD is not a branch name");
  const result = await git(root, ["check-ref-format", "--branch", name]);
  if (result.code !== 0 || result.stdout.trim() !== name) {
    bad("git does not accept it as a branch name");
  }
  return name;
}

/** True when `refs/heads/<branch>` exists. */
export async function branchExists(root: string, branch: string): Promise<boolean> {
  const result = await git(root, ["show-ref", "--verify", "--quiet", `refs/heads/${branch}`]);
  return result.code === 0;
}

/** The commit `ref` names, or null when it names none. */
export async function resolveCommit(root: string, ref: string): Promise<string | null> {
  if (ref.startsWith("-")) return null;
  const result = await git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  return result.code === 0 ? result.stdout.trim() : null;
}

/** Commits of `head` not in `base` (ahead) and of `base` not in `head` (behind); null if unknown. */
export async function aheadBehind(
  dir: string,
  base: string,
  head = "HEAD",
): Promise<{ ahead: number; behind: number } | null> {
  const result = await git(dir, ["rev-list", "--left-right", "--count", `${head}...${base}`, "--"]);
  if (result.code !== 0) return null;
  const [ahead, behind] = result.stdout.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(ahead) || !Number.isFinite(behind)) return null;
  return { ahead, behind };
}
