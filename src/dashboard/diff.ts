/**
 * What a ticket changed, as `cmcs diff` shows it: from the commit before its first attempt to the
 * last commit of its attempts, plus what they left uncommitted in the working tree (auto-commit
 * off, an attempt that did not end done). A span of commits only is read in the project's main
 * checkout (every worktree shares its object store, so the diff still shows after a worktree was
 * removed); a working-tree overlay is read in the target. Commit ids from the database are checked
 * to be hex before they reach git, and the output is read only up to a bound.
 */
import { isEmptySpec, type TicketDiffSpec, withTicketDiff } from "../core/review/ticket_diff.ts";
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
  /** The commit before the ticket; null in a repository that had none. */
  base: string | null;
  /** The last commit of its attempts; null when none committed. */
  head: string | null;
  /** Paths shown from the working tree, not from a commit. */
  uncommitted: string[];
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
 * The diff of a ticket's span (see {@link TicketDiffSpec}) in `target`, bounded and split into
 * typed lines; null when the span shows nothing (no commit, nothing left uncommitted).
 */
export async function ticketDiff(
  project: Project,
  target: string,
  spec: TicketDiffSpec,
): Promise<TicketDiff | null> {
  if (isEmptySpec(spec)) return null;
  const result: TicketDiff = {
    base: spec.from,
    head: spec.to,
    uncommitted: spec.overlay,
    lines: [],
    added: 0,
    removed: 0,
    truncated: false,
    error: null,
  };
  if (!project.isGit) return { ...result, error: "the project is not a git repository" };
  if ([spec.from, spec.to].some((id) => id !== null && !COMMIT.test(id))) {
    return { ...result, error: "not a commit id" };
  }
  const cwd = spec.overlay.length > 0 ? target : project.root;
  const out = await withTicketDiff(cwd, spec, (revisions, env) =>
    boundedGit(
      cwd,
      [
        "-c",
        "core.quotePath=false",
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--find-renames",
        ...revisions,
        "--",
      ],
      env,
      MAX_DIFF_BYTES,
    ));
  const truncated = "truncated" in out && out.truncated;
  if (out.code !== 0 && !truncated) {
    return { ...result, error: out.stderr.trim().split("\n")[0] || `git exited ${out.code}` };
  }
  let text = out.stdout;
  if (truncated) text = text.slice(0, text.lastIndexOf("\n") + 1);
  const lines = classify(text);
  result.truncated = truncated || lines.length > MAX_DIFF_LINES;
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
  env: Record<string, string>,
  maxBytes: number,
): Promise<{ code: number; stdout: string; stderr: string; truncated: boolean }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("git", {
      args,
      cwd,
      env,
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
