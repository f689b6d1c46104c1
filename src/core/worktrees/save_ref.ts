/**
 * What `worktree cleanup --force` would destroy is first kept under a ref of cmcs's own,
 * `refs/cmcs/saved/<name>/<n>`: a ref, unlike a reflog entry, keeps its commits from `git gc`
 * for good, and no git command but an explicit `update-ref -d` removes it. Uncommitted changes
 * (untracked files included, ignored ones not) become one commit on top of HEAD, made through a
 * private index so the worktree's own index is never touched.
 */
import { join } from "../path.ts";
import { git, gitOk } from "../git.ts";

/** The prefix under which forced cleanups keep what they would have destroyed. */
export const SAVED_REFS = "refs/cmcs/saved";

/** Cmcs made the snapshot commit, so it signs it, whatever identity the repository has. */
const SNAPSHOT_IDENTITY = {
  GIT_AUTHOR_NAME: "cmcs",
  GIT_AUTHOR_EMAIL: "cmcs@localhost",
  GIT_COMMITTER_NAME: "cmcs",
  GIT_COMMITTER_EMAIL: "cmcs@localhost",
};

export interface SavedWork {
  /** The full ref name, `refs/cmcs/saved/feat+login/1`. */
  ref: string;
  commit: string;
  /** True when the saved commit is a snapshot of uncommitted changes (on top of HEAD). */
  snapshot: boolean;
}

/**
 * Keeps `tip` (the worktree's HEAD or branch) and, when `dirty`, a snapshot of the uncommitted
 * changes in `worktree` on top of it, under a new ref. `name` labels the ref (slashes become `+`
 * so `feat` and `feat/x` never clash as file and folder). Two cleanups never share a ref: the
 * ref is created only if it does not exist yet, else the next number is tried.
 */
export async function saveWork(
  root: string,
  opts: {
    name: string;
    tip: string | null;
    worktree: string | null;
    dirty: boolean;
    label: string;
  },
): Promise<SavedWork> {
  let commit = opts.tip;
  let snapshot = false;
  if (opts.dirty && opts.worktree) {
    commit = await _snapshot(opts.worktree, opts.tip, opts.label);
    snapshot = true;
  }
  if (!commit) throw new Error(`nothing to save for ${opts.label}: it has no commit`);
  const dir = `${SAVED_REFS}/${opts.name.replaceAll("/", "+")}`;
  for (let attempt = 0; attempt < 20; attempt++) {
    const ref = `${dir}/${(await _highestNumber(root, dir)) + 1}`;
    const made = await git(root, [
      "update-ref",
      "-m",
      `cmcs worktree cleanup --force: ${opts.label}`,
      ref,
      commit,
      "",
    ]);
    if (made.code === 0) return { ref, commit, snapshot };
  }
  throw new Error(`could not create a ref under ${dir} to save ${opts.label}`);
}

async function _highestNumber(root: string, dir: string): Promise<number> {
  const out = await gitOk(root, ["for-each-ref", "--format=%(refname)", `${dir}/`]);
  let highest = 0;
  for (const ref of out.split("\n")) {
    const n = Number(ref.slice(dir.length + 1));
    if (Number.isInteger(n) && n > highest) highest = n;
  }
  return highest;
}

/** A commit of the worktree's files as they are now (tracked and untracked, not ignored). */
async function _snapshot(worktree: string, head: string | null, label: string): Promise<string> {
  const gitDir = (await gitOk(worktree, ["rev-parse", "--absolute-git-dir"])).trim();
  const index = join(gitDir, `cmcs-save-index-${Deno.pid}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    if (head) await gitOk(worktree, ["read-tree", head], env);
    await gitOk(worktree, ["add", "-A", "--", "."], env);
    const tree = (await gitOk(worktree, ["write-tree"], env)).trim();
    const parents = head ? ["-p", head] : [];
    const message = `cmcs: uncommitted changes of ${label}, saved by worktree cleanup --force`;
    return (await gitOk(worktree, ["commit-tree", tree, ...parents, "-m", message], {
      ...SNAPSHOT_IDENTITY,
    })).trim();
  } finally {
    await Deno.remove(index).catch(() => {});
  }
}
