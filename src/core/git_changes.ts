import type { FileChange } from "./db/types.ts";
import { git } from "./git.ts";

/** Paths cmcs never commits: its own database and logs. */
const NEVER_COMMIT = [/^\.cmcs\/cmcs\.db/, /^\.cmcs\/logs(\/|$)/];

/** Uncommitted paths of a working tree (tracked changes and untracked files), relative to it. */
export async function uncommittedPaths(dir: string): Promise<string[]> {
  const out = await git(dir, [
    "status",
    "--porcelain=v1",
    "-z",
    "--untracked-files=all",
    "--no-renames",
  ]);
  if (out.code !== 0) return [];
  const paths: string[] = [];
  for (const entry of out.stdout.split("\0")) {
    if (entry.length > 3) paths.push(entry.slice(3));
  }
  return paths.filter((path) => !NEVER_COMMIT.some((re) => re.test(path)));
}

/** Content identity of each path (git blob hash, or "deleted"), to tell later edits from earlier ones. */
export async function contentHashes(dir: string, paths: string[]): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  if (paths.length === 0) return hashes;
  const existing: string[] = [];
  for (const path of paths) {
    try {
      const info = await Deno.lstat(`${dir}/${path}`);
      if (info.isFile || info.isSymlink) existing.push(path);
      else hashes.set(path, "not-a-file");
    } catch {
      hashes.set(path, "deleted");
    }
  }
  if (existing.length > 0) {
    const child = new Deno.Command("git", {
      args: ["hash-object", "--no-filters", "--stdin-paths"],
      cwd: dir,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(existing.join("\n") + "\n"));
    await writer.close();
    const out = new TextDecoder().decode((await child.output()).stdout).trim().split("\n");
    existing.forEach((path, i) => hashes.set(path, out[i] ?? "unknown"));
  }
  return hashes;
}

/** What was uncommitted before an attempt, so the attempt's commit leaves those edits alone. */
export type DirtySnapshot = Map<string, string>;

export async function snapshotDirty(dir: string): Promise<DirtySnapshot> {
  return contentHashes(dir, await uncommittedPaths(dir));
}

/**
 * The paths an attempt changed: everything uncommitted now, except paths that were already
 * uncommitted before it and still have the same content. Paths dirty before and changed again are
 * included and reported in `touchedPreexisting`.
 */
export async function attemptChanges(
  dir: string,
  before: DirtySnapshot,
): Promise<{ paths: string[]; touchedPreexisting: string[] }> {
  const now = await uncommittedPaths(dir);
  const hashes = await contentHashes(dir, now.filter((path) => before.has(path)));
  const paths: string[] = [];
  const touchedPreexisting: string[] = [];
  for (const path of now) {
    if (!before.has(path)) paths.push(path);
    else if (hashes.get(path) !== before.get(path)) {
      paths.push(path);
      touchedPreexisting.push(path);
    }
  }
  return { paths, touchedPreexisting };
}

export interface CommitResult {
  /** The new commit, or null when there was nothing to commit or committing failed. */
  commit: string | null;
  /** Why committing failed (no identity, a hook…); null on success or when there was nothing to do. */
  error: string | null;
  paths: string[];
}

/** Stages exactly `paths` (additions, edits and deletions) and commits them with `message`. */
export async function commitPaths(
  dir: string,
  paths: string[],
  message: string[],
): Promise<CommitResult> {
  if (paths.length === 0) return { commit: null, error: null, paths };
  const add = new Deno.Command("git", {
    args: ["add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"],
    cwd: dir,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = add.stdin.getWriter();
  await writer.write(new TextEncoder().encode(paths.map((p) => `:(literal)${p}`).join("\0")));
  await writer.close();
  const added = await add.output();
  if (added.code !== 0) {
    return {
      commit: null,
      error: `git add failed: ${lastLines(new TextDecoder().decode(added.stderr))}`,
      paths,
    };
  }
  const commit = await git(dir, ["commit", "--quiet", ...message.flatMap((m) => ["-m", m])]);
  if (commit.code !== 0) {
    return {
      commit: null,
      error: `git commit failed: ${lastLines(commit.stderr || commit.stdout)}`,
      paths,
    };
  }
  const head = await git(dir, ["rev-parse", "HEAD"]);
  return { commit: head.stdout.trim(), error: null, paths };
}

/** Added/removed line counts between two commits (binary files have null counts). */
export async function diffBetween(
  dir: string,
  from: string | null,
  to: string,
): Promise<FileChange[]> {
  const base = from ?? (await emptyTree(dir));
  const out = await git(dir, ["diff", "--numstat", "-z", "--no-renames", base, to]);
  return out.code === 0 ? parseNumstat(out.stdout) : [];
}

/** Added/removed line counts of uncommitted `paths` against `from` (untracked files count all lines). */
export async function diffWorkingTree(
  dir: string,
  from: string | null,
  paths: string[],
): Promise<FileChange[]> {
  if (paths.length === 0) return [];
  const base = from ?? (await emptyTree(dir));
  const tracked = await git(dir, [
    "diff",
    "--numstat",
    "-z",
    "--no-renames",
    base,
    "--",
    ...paths.map((p) => `:(literal)${p}`),
  ]);
  const changes = tracked.code === 0 ? parseNumstat(tracked.stdout) : [];
  const seen = new Set(changes.map((c) => c.path));
  for (const path of paths) {
    if (seen.has(path)) continue;
    try {
      const bytes = await Deno.readFile(`${dir}/${path}`);
      const binary = bytes.subarray(0, 8000).includes(0);
      const text = new TextDecoder().decode(bytes);
      const lines = text === "" ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
      changes.push({ path, added: binary ? null : lines, removed: binary ? null : 0 });
    } catch {
      changes.push({ path, added: 0, removed: null });
    }
  }
  return changes;
}

function parseNumstat(text: string): FileChange[] {
  const changes: FileChange[] = [];
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

async function emptyTree(dir: string): Promise<string> {
  const out = await git(dir, ["hash-object", "-t", "tree", "/dev/null"]);
  return out.stdout.trim() || "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-2).join(" / ") || "no output";
}
