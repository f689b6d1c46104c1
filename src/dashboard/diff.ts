/**
 * What a ticket changed, as a diff between the commit before its first attempt and the commit
 * after its last one. Git runs in the project's main checkout (every worktree shares its object
 * store, so the diff still shows after a worktree was removed); commit ids from the database are
 * checked to be hex before they reach git, and the output is read only up to a bound.
 */
import type { AttemptRow } from "../core/db/types.ts";
import type { Project } from "../core/project.ts";

/** The most diff bytes read for one ticket. */
export const MAX_DIFF_BYTES = 256 * 1024;
/** The most diff lines shown for one ticket. */
export const MAX_DIFF_LINES = 4000;

export type DiffLineKind = "file" | "meta" | "hunk" | "add" | "del" | "ctx";

export interface DiffLine {
  kind: DiffLineKind;
  text: string;
}

export interface TicketDiff {
  base: string;
  head: string;
  lines: DiffLine[];
  added: number;
  removed: number;
  /** True when the diff was longer than the bounds and was cut. */
  truncated: boolean;
  /** Set when git could not produce the diff (unknown commit, not a repository). */
  error: string | null;
}

const COMMIT = /^[0-9a-f]{7,64}$/i;

/**
 * The commits bounding a ticket's work across its attempts (first `commit_before`, last
 * `commit_after`), or null when either is unknown or they are equal (nothing committed).
 */
export function diffRange(
  attempts: Pick<AttemptRow, "commit_before" | "commit_after">[],
): { base: string; head: string } | null {
  const base = attempts.find((a) => a.commit_before)?.commit_before;
  const head = attempts.findLast((a) => a.commit_after)?.commit_after;
  if (!base || !head || base === head || !COMMIT.test(base) || !COMMIT.test(head)) return null;
  return { base, head };
}

/** The diff `base..head` in the project's repository, bounded and split into typed lines. */
export async function ticketDiff(
  project: Project,
  range: { base: string; head: string },
): Promise<TicketDiff> {
  const result: TicketDiff = {
    ...range,
    lines: [],
    added: 0,
    removed: 0,
    truncated: false,
    error: null,
  };
  if (!project.isGit) return { ...result, error: "the project is not a git repository" };
  if (!COMMIT.test(range.base) || !COMMIT.test(range.head)) {
    return { ...result, error: "not a commit id" };
  }
  const out = await boundedGit(project.root, [
    "-c",
    "core.quotePath=false",
    "diff",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--find-renames",
    range.base,
    range.head,
    "--",
  ], MAX_DIFF_BYTES);
  if (out.code !== 0 && !out.truncated) {
    return { ...result, error: out.stderr.trim().split("\n")[0] || `git exited ${out.code}` };
  }
  let text = out.stdout;
  if (out.truncated) text = text.slice(0, text.lastIndexOf("\n") + 1);
  const lines = classify(text);
  result.truncated = out.truncated || lines.length > MAX_DIFF_LINES;
  result.lines = lines.slice(0, MAX_DIFF_LINES);
  for (const line of lines) {
    if (line.kind === "add") result.added++;
    else if (line.kind === "del") result.removed++;
  }
  return result;
}

/** Types each line of a unified diff (headers, hunks, added, removed, context). */
export function classify(text: string): DiffLine[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let inHeader = false;
  return lines.map((line): DiffLine => {
    if (line.startsWith("diff --git ")) {
      inHeader = true;
      return { kind: "file", text: line };
    }
    if (line.startsWith("@@")) {
      inHeader = false;
      return { kind: "hunk", text: line };
    }
    if (inHeader) return { kind: "meta", text: line };
    if (line.startsWith("+")) return { kind: "add", text: line };
    if (line.startsWith("-")) return { kind: "del", text: line };
    return { kind: "ctx", text: line };
  });
}

/**
 * Runs git and reads at most `maxBytes` of its stdout; when there is more, the process is killed
 * and the result marked truncated (a huge diff never fills the dashboard's memory).
 */
async function boundedGit(
  cwd: string,
  args: string[],
  maxBytes: number,
): Promise<{ code: number; stdout: string; stderr: string; truncated: boolean }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("git", {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    return { code: 127, stdout: "", stderr: String(error), truncated: false };
  }
  const stderrPromise = new Response(child.stderr).text();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const reader = child.stdout.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > maxBytes) {
      truncated = true;
      await reader.cancel();
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      break;
    }
  }
  const status = await child.status;
  const stderr = await stderrPromise;
  const all = new Uint8Array(Math.min(size, maxBytes));
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, all.length - at);
    all.set(part, at);
    at += part.length;
    if (at >= all.length) break;
  }
  return { code: status.code, stdout: new TextDecoder().decode(all), stderr, truncated };
}
