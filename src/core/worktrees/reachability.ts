/**
 * Which commits removing a worktree would lose. A commit survives when some ref that outlives the
 * cleanup reaches it — whatever that ref is called: another branch, a tag, a remote-tracking
 * branch, the stash, cmcs's own saved refs, or the HEAD of another worktree. Comparing with a
 * base branch by name is not enough: the base may be the worktree's own branch (the check then
 * compares the branch with itself), and a detached HEAD has no branch to compare at all.
 */
import { git } from "../git.ts";
import { gitWorktrees } from "./git_worktrees.ts";

export interface LossQuery {
  /** The main checkout: git runs there, so `--all` sees the main checkout's HEAD, not the target's. */
  root: string;
  /** Commits the cleanup drops: the worktree's HEAD and its branch's tip. */
  tips: string[];
  /** The branch the cleanup deletes (its ref does not survive), or null. */
  branch: string | null;
  /** The worktree being removed, as git lists it: its HEAD does not survive. */
  worktreePath: string | null;
}

/**
 * The commits reachable from `tips` and from no surviving ref, newest first, as
 * `git log --oneline` lines. Throws when git cannot answer: a cleanup must not guess.
 */
export async function unreachableCommits(query: LossQuery): Promise<string[]> {
  const tips = [...new Set(query.tips)];
  if (tips.length === 0) return [];
  const otherHeads = (await gitWorktrees(query.root))
    .filter((w) => !w.bare && !w.prunable && w.head && w.path !== query.worktreePath)
    .map((w) => w.head!);
  // `--single-worktree` keeps `--all` from adding the HEAD of every worktree (the target's
  // included); the other worktrees' HEADs are listed explicitly instead. Branch names cannot hold
  // glob characters, so the exclusion matches exactly the one ref.
  const exclude = query.branch ? [`--exclude=refs/heads/${query.branch}`] : [];
  const args = [
    "log",
    "--oneline",
    "--no-decorate",
    ...tips,
    "--not",
    "--single-worktree",
    ...exclude,
    "--all",
    ...otherHeads,
    "--",
  ];
  const result = await git(query.root, args);
  if (result.code !== 0) {
    throw new Error(`git ${args.join(" ")} failed: ${result.stderr.trim()}`);
  }
  return result.stdout.split("\n").filter((line) => line.trim() !== "");
}
