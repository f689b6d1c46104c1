import { join } from "../path.ts";
import type { FileChange } from "../db/types.ts";
import { emptyTree, git, parseNumstat } from "../git.ts";
import { uncommittedPaths } from "../git_changes.ts";
import type { TicketHistory } from "./ticket_history.ts";
import { isCurrentHistory, uncommittedAttemptPaths } from "./ticket_history.ts";
import { childOutput } from "../child_output.ts";

/**
 * What a ticket changed, in git terms: the tree at `to` (the last commit of its attempts, or
 * `from` when none committed) with the working-tree content of `overlay` on top, compared with
 * `from`.
 */
export interface TicketDiffSpec {
  /** The commit before the ticket's first attempt; null for a repository that had no commit. */
  from: string | null;
  /** The last commit an attempt of the ticket recorded; null when none committed. */
  to: string | null;
  /**
   * Paths the ticket's attempts changed without committing that are still uncommitted now (auto-commit
   * off, an attempt that did not end done). Paths committed since then are not overlaid: their
   * working-tree content may hold later work; for the same reason a history that a later attempt
   * of the ticket continued (an older run's view of it) has no overlay.
   */
  overlay: string[];
}

/** The diff span of a ticket's history (see {@link TicketDiffSpec}). */
export async function ticketDiffSpec(
  target: string,
  history: TicketHistory,
): Promise<TicketDiffSpec> {
  const { from, to } = commitSpan(history);
  const changed = isCurrentHistory(history) ? uncommittedAttemptPaths(history) : [];
  let overlay: string[] = [];
  if (changed.length > 0) {
    const dirty = new Set(await uncommittedPaths(target));
    overlay = changed.filter((path) => dirty.has(path));
  }
  return { from, to, overlay };
}

/**
 * The commits of a ticket's span without looking at any working tree (one that is gone, or not
 * the ticket's): the commit before its first attempt … the last commit an attempt recorded.
 */
export function commitSpan(history: TicketHistory): TicketDiffSpec {
  const first = history.attempts.find((a) => a.commit_before) ?? history.attempts[0];
  const to = history.attempts.findLast((a) => a.commit_after)?.commit_after ?? null;
  return { from: first.commit_before, to, overlay: [] };
}

/** True when the span shows nothing: no commit and no uncommitted change left. */
export function isEmptySpec(spec: TicketDiffSpec): boolean {
  return spec.overlay.length === 0 && (spec.to === null || spec.to === spec.from);
}

export interface GitDiffOptions {
  /** Extra `git diff` arguments: `--stat`, `--numstat -z`, `--color=always`… */
  args: string[];
  /**
   * `piped` returns git's output; a stream receives it as it comes (a diff can be large) and is
   * closed at the end.
   */
  stdout: "piped" | WritableStream<Uint8Array>;
}

/**
 * Runs `git diff` over a ticket's span. Without an overlay this is exactly
 * `git diff <from> <to>`; with one, a throwaway index (never the repository's own) is loaded with
 * `to` and the overlaid paths from the working tree and compared with `from`, so untracked new
 * files and deletions show too. Git's pager is never used.
 */
export async function runTicketDiff(
  target: string,
  spec: TicketDiffSpec,
  opts: GitDiffOptions,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return await withTicketDiff(
    target,
    spec,
    (revisions, env) => gitDiff(target, [...opts.args, ...revisions], env, opts.stdout),
  );
}

/**
 * Prepares what `git diff` needs to show `spec` in `target` and hands it to `diff`: the revision
 * arguments (`<from> <to>`, or `--cached <from>` over a throwaway index holding the overlay) and
 * the environment naming that index. The index is removed afterwards. Lets a caller that bounds
 * git's output (the dashboard) show exactly what `cmcs diff` shows.
 */
export async function withTicketDiff<T extends { code: number; stderr: string }>(
  target: string,
  spec: TicketDiffSpec,
  diff: (revisions: string[], env: Record<string, string>) => Promise<T>,
): Promise<T | { code: number; stdout: string; stderr: string }> {
  const from = spec.from ?? (await emptyTree(target));
  if (spec.overlay.length === 0) return await diff([from, spec.to ?? from], {});
  const tempDir = await Deno.makeTempDir({ prefix: "cmcs-diff-" });
  try {
    const env = { GIT_INDEX_FILE: join(tempDir, "index") };
    const base = spec.to ?? from;
    const read = await git(target, ["read-tree", base], env);
    if (read.code !== 0) return { code: read.code, stdout: "", stderr: read.stderr };
    const added = await addPaths(target, spec.overlay, env);
    if (added.code !== 0) return added;
    return await diff(["--cached", from], env);
  } finally {
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
}

/** Added/removed line counts of a ticket's span, in git's order (binary files have null counts). */
export async function ticketNumstat(
  target: string,
  spec: TicketDiffSpec,
): Promise<FileChange[] | null> {
  const out = await runTicketDiff(target, spec, {
    args: ["--numstat", "-z", "--no-renames"],
    stdout: "piped",
  });
  return out.code === 0 ? parseNumstat(out.stdout) : null;
}

async function gitDiff(
  target: string,
  args: string[],
  env: Record<string, string>,
  stdout: "piped" | WritableStream<Uint8Array>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command("git", {
    args: ["--no-pager", "diff", ...args],
    cwd: target,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  if (stdout === "piped") {
    const out = await childOutput(child);
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  }
  const [, stderr, status] = await Promise.all([
    child.stdout.pipeTo(stdout),
    new Response(child.stderr).text(),
    child.status,
  ]);
  return { code: status.code, stdout: "", stderr };
}

async function addPaths(
  target: string,
  paths: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command("git", {
    args: ["add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"],
    cwd: target,
    env,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(paths.map((p) => `:(top,literal)${p}`).join("\0")));
  await writer.close();
  const out = await childOutput(child);
  return { code: out.code, stdout: "", stderr: new TextDecoder().decode(out.stderr) };
}
