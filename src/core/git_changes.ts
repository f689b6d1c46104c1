import type { FileChange } from "./db/types.ts";
import type { StepBound } from "./bounded_step.ts";
import { emptyTree, git, parseNumstat } from "./git.ts";

/** Paths cmcs never commits: its own database and logs. */
const NEVER_COMMIT = [/^\.cmcs\/cmcs\.db/, /^\.cmcs\/logs(\/|$)/];

/** A working tree at one moment: the commit HEAD points to and what is uncommitted. */
export interface TreeState {
  /** HEAD's commit; null in a repository with no commits (or when `git status` failed). */
  head: string | null;
  /** Uncommitted paths (tracked changes and untracked files), relative to the tree. */
  paths: string[];
  /** Those of `paths` that git does not track (neither in the index nor in HEAD). */
  untracked: string[];
  /** The checked-out branch (`# branch.head`), null when HEAD is detached or unknown. */
  branch?: string | null;
  /** False when `git status` failed: nothing above can be relied on. */
  ok?: boolean;
  /** What git said when it failed (its last line of stderr, or its exit code). */
  error?: string;
}

/**
 * HEAD and the uncommitted paths from a single `git status` (porcelain v2 reports HEAD in its
 * `# branch.oid` header), which saves a `git rev-parse` per look: the runner looks before and
 * after every attempt. `--no-ahead-behind` keeps a far-away upstream from costing anything.
 */
export async function treeState(dir: string): Promise<TreeState> {
  const out = await git(dir, [
    "status",
    "--porcelain=v2",
    "-z",
    "--branch",
    "--no-ahead-behind",
    "--untracked-files=all",
    "--no-renames",
  ]);
  if (out.code !== 0) {
    const said = out.stderr.trim().split("\n").at(-1)?.trim();
    const error = `git status failed: ${said || `exit code ${out.code}`}`;
    return { head: null, paths: [], untracked: [], branch: null, ok: false, error };
  }
  let head: string | null = null;
  let branch: string | null = null;
  const paths: string[] = [];
  const untracked: string[] = [];
  const entries = out.stdout.split("\0");
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const kind = entry.slice(0, 2);
    if (entry.startsWith("# branch.oid ")) {
      const oid = entry.slice("# branch.oid ".length).trim();
      head = /^[0-9a-f]{4,}$/.test(oid) ? oid : null;
    } else if (entry.startsWith("# branch.head ")) {
      const name = entry.slice("# branch.head ".length).trim();
      branch = name === "(detached)" ? null : name;
    } else if (kind === "1 ") paths.push(afterFields(entry, 8));
    else if (kind === "2 ") {
      paths.push(afterFields(entry, 9));
      i++; // the original path of a rename or copy follows
    } else if (kind === "u ") paths.push(afterFields(entry, 10));
    else if (kind === "? ") {
      paths.push(entry.slice(2));
      untracked.push(entry.slice(2));
    }
  }
  const committable = (path: string) => path !== "" && !NEVER_COMMIT.some((re) => re.test(path));
  return {
    head,
    paths: paths.filter(committable),
    untracked: untracked.filter(committable),
    branch,
    ok: true,
  };
}

/** What follows the first `n` space-separated fields of a porcelain v2 entry: its path. */
function afterFields(entry: string, n: number): string {
  let at = -1;
  for (let i = 0; i < n; i++) {
    at = entry.indexOf(" ", at + 1);
    if (at < 0) return "";
  }
  return entry.slice(at + 1);
}

/** Uncommitted paths of a working tree (tracked changes and untracked files), relative to it. */
export async function uncommittedPaths(dir: string): Promise<string[]> {
  return (await treeState(dir)).paths;
}

/**
 * Content identity of each path, to tell later edits from earlier ones: its git blob id (what
 * `git hash-object --no-filters` prints in a SHA-1 repository; a symlink is followed, as git does),
 * or "deleted", "not-a-file" or "unreadable". Hashed here rather than by a `git hash-object`
 * process: the runner looks before and after every attempt, and a process costs more than hashing
 * a few files. Each path stands alone, so one unreadable path does not blur the others.
 *
 * Files up to {@link WHOLE_READ_BYTES} are looked at and read synchronously: with auto-commit off
 * the uncommitted files pile up over a run, every one of them is hashed at every attempt, and the
 * asynchronous calls (a trip through Deno's thread pool each, about 40 µs against 5 µs) cost more
 * than the hashing itself. Larger files are read asynchronously, in chunks.
 */
export async function contentHashes(dir: string, paths: string[]): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  const large: string[] = [];
  const crypto = paths.length > 0 ? await sha1Module() : null;
  for (const path of paths) {
    const hash = smallContentHash(`${dir}/${path}`, crypto!);
    if (hash === null) large.push(path);
    else hashes.set(path, hash);
  }
  const rest = await Promise.all(large.map((path) => contentHash(`${dir}/${path}`)));
  large.forEach((path, i) => hashes.set(path, rest[i]));
  return new Map(paths.map((path) => [path, hashes.get(path)!]));
}

/** Files up to this size are read at once; larger ones in chunks, so none is held whole. */
const WHOLE_READ_BYTES = 4 * 1024 * 1024;

type CryptoModule = typeof import("node:crypto");
let cryptoModule: Promise<CryptoModule> | null = null;

/**
 * node:crypto, imported on first use, not at the top: it takes as long to load as an empty Deno
 * program, and the one-file program (scripts/bundle.ts) would load it for every command.
 */
function sha1Module(): Promise<CryptoModule> {
  return cryptoModule ??= import("node:crypto");
}

/** The content identity of a file up to {@link WHOLE_READ_BYTES}, read synchronously; null if larger. */
function smallContentHash(file: string, crypto: CryptoModule): string | null {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(file);
  } catch {
    return "deleted";
  }
  if (!info.isFile && !info.isSymlink) return "not-a-file";
  try {
    if (info.isSymlink) info = Deno.statSync(file);
    if (info.size > WHOLE_READ_BYTES) return null;
    const bytes = Deno.readFileSync(file);
    return crypto.createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
  } catch {
    return "unreadable";
  }
}

async function contentHash(file: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(file);
  } catch {
    return "deleted";
  }
  if (!info.isFile && !info.isSymlink) return "not-a-file";
  try {
    const size = info.isFile ? info.size : (await Deno.stat(file)).size;
    const { createHash } = await sha1Module();
    const hash = createHash("sha1").update(`blob ${size}\0`);
    if (size <= WHOLE_READ_BYTES) hash.update(await Deno.readFile(file));
    else {
      using handle = await Deno.open(file);
      const buffer = new Uint8Array(1 << 20);
      for (let n = await handle.read(buffer); n !== null; n = await handle.read(buffer)) {
        hash.update(buffer.subarray(0, n));
      }
    }
    return hash.digest("hex");
  } catch {
    return "unreadable";
  }
}

/** What was uncommitted before an attempt, so the attempt's commit leaves those edits alone. */
export type DirtySnapshot = Map<string, string>;

/**
 * A look at a working tree that the next attempt may start from instead of a `git status` of its
 * own: HEAD, the uncommitted paths, the content identities already known (the rest are hashed
 * when the look is used) and the state of git's own files right after the look ({@link gitState}).
 */
export interface TreeLook extends TreeState {
  hashes: Map<string, string>;
  /** Null when the look cannot be carried (git failed, or its files could not be found). */
  gitState: string | null;
}

/** A fresh {@link TreeLook} of `dir` (one `git status`), or of `state` when already taken. */
export async function lookAt(dir: string, state?: Promise<TreeState>): Promise<TreeLook> {
  const tree = await (state ?? treeState(dir));
  return { ...tree, hashes: new Map(), gitState: tree.ok === false ? null : gitState(dir, tree) };
}

/**
 * HEAD and the {@link DirtySnapshot} an attempt starts from: from `carried`, the look the previous
 * attempt ended with, when git's files say nothing happened in git since ({@link gitState}: no
 * commit, no checkout, nothing staged; those rewrite the index or a ref), or from a `git status`
 * of its own. `carried` is true when the look was carried.
 *
 * What carrying changes (docs/reliability.md, "Edits between two tickets"): a file another program
 * edits between the previous attempt's last look and this attempt's start, without touching git,
 * counts as this attempt's change, where a look of its own would have counted it as an edit from
 * before the attempt. Such an edit could already land unseen between the look and the worker's
 * start; carrying widens that window by the few milliseconds cmcs spends between two attempts.
 * Callers never carry a look across a wait (a retry's backoff). `failure` says why the look
 * failed (`git status` could not read the tree): the snapshot is then empty and must not be used
 * to tell an attempt's changes from earlier edits.
 */
export async function snapshotBefore(
  dir: string,
  pending?: Promise<TreeLook | null> | TreeLook | null,
): Promise<
  { head: string | null; dirty: DirtySnapshot; carried: boolean; failure: string | null }
> {
  const carried = await pending;
  const usable = carried && carried.gitState !== null &&
    gitState(dir, carried) === carried.gitState;
  const state = usable ? carried : await lookAt(dir);
  const missing = state.paths.filter((path) => !state.hashes.has(path));
  const hashed = await contentHashes(dir, missing);
  const dirty: DirtySnapshot = new Map(
    state.paths.map((path) => [path, state.hashes.get(path) ?? hashed.get(path)!]),
  );
  return {
    head: state.head,
    dirty,
    carried: !!usable,
    failure: state.ok === false ? state.error ?? "git status failed" : null,
  };
}

/**
 * The paths an attempt changed: everything uncommitted now, except paths that were already
 * uncommitted before it and still have the same content. Paths dirty before and changed again are
 * included and reported in `touchedPreexisting`. `head` is HEAD at the same moment, and
 * `untracked` the paths of the tree git does not track (for {@link commitPaths}). `look` is the
 * same look for the next attempt ({@link snapshotBefore}); `state`, when given, is a `git status`
 * the caller started as soon as the worker had exited.
 */
export async function attemptChanges(
  dir: string,
  before: DirtySnapshot,
  state?: Promise<TreeState>,
): Promise<
  {
    paths: string[];
    touchedPreexisting: string[];
    head: string | null;
    untracked: string[];
    look: TreeLook;
    /** Why `git status` failed; nothing above can be relied on then. */
    failure: string | null;
  }
> {
  const look = await lookAt(dir, state);
  const { head, paths: now, untracked } = look;
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
  for (const [path, hash] of hashes) look.hashes.set(path, hash);
  const failure = look.ok === false ? look.error ?? "git status failed" : null;
  return { paths, touchedPreexisting, head, untracked, look, failure };
}

/** Where each working tree keeps its git files, found once per tree (null: not found). */
const gitDirs = new Map<string, { gitDir: string; commonDir: string } | null>();

function gitDirsOf(dir: string): { gitDir: string; commonDir: string } | null {
  let found = gitDirs.get(dir);
  if (found !== undefined) return found;
  found = null;
  try {
    let gitDir = `${dir}/.git`;
    if (Deno.statSync(gitDir).isFile) {
      const match = /^gitdir: (.+)$/m.exec(Deno.readTextFileSync(gitDir));
      if (match) gitDir = match[1].startsWith("/") ? match[1] : `${dir}/${match[1]}`;
      else gitDir = "";
    }
    if (gitDir !== "") {
      let commonDir = gitDir;
      try {
        const common = Deno.readTextFileSync(`${gitDir}/commondir`).trim();
        commonDir = common.startsWith("/") ? common : `${gitDir}/${common}`;
      } catch { /* a main working tree */ }
      found = { gitDir, commonDir };
    }
  } catch { /* no .git at the top of dir: never carried */ }
  gitDirs.set(dir, found);
  return found;
}

/**
 * The identity (inode, size, modification time) of the files git rewrites when anything happens
 * in git: the index (a commit, `git add`, a checkout, a reset or merge; git writes it to a lock file
 * and renames that over it, so every rewrite is a new inode), HEAD, and the checked-out branch's
 * ref. Null when `dir`'s git files are not where a plain repository or worktree keeps them (the
 * look is then never carried). A `git status` or `git diff` may rewrite the index too, to refresh
 * it: the look is then simply not carried.
 */
function gitState(dir: string, state: TreeState): string | null {
  const dirs = gitDirsOf(dir);
  if (dirs === null) return null;
  const id = (path: string) => {
    try {
      const info = Deno.statSync(path);
      return `${info.ino}:${info.size}:${info.mtime?.getTime()}`;
    } catch {
      return "-";
    }
  };
  const ref = state.branch ? id(`${dirs.commonDir}/refs/heads/${state.branch}`) : "";
  return `${id(`${dirs.gitDir}/index`)}|${id(`${dirs.gitDir}/HEAD`)}|${ref}`;
}

export interface CommitResult {
  /** The new commit, or null when there was nothing to commit or committing failed. */
  commit: string | null;
  /** Why committing failed (no identity, a hook…); null on success or when there was nothing to do. */
  error: string | null;
  paths: string[];
  /**
   * With a commit: its parent (null for a root commit) and the files it changed against that
   * parent, read together with the commit's id, so a caller whose commit sits on the HEAD it
   * started from needs no `git diff` of its own.
   */
  parent?: string | null;
  files?: FileChange[];
  /**
   * With a commit and `opts.lookAfter`: the working tree right after it, for the next attempt.
   * Still being taken when the commit is returned (null if git failed): the caller has other
   * work to do meanwhile.
   */
  look?: Promise<TreeLook | null>;
}

/**
 * Stages exactly `paths` (additions, edits and deletions) and commits them, and nothing else, with
 * `message` (paragraphs): whatever the user had staged for other paths stays staged and out of the
 * commit (`git commit --only`). Both git steps run in a session of their own, so a Ctrl-C meant for
 * cmcs cannot kill a commit (or its hooks) halfway. A merge in progress makes git refuse a partial
 * commit, which is reported as the error: the user's merge is never committed under a ticket.
 *
 * A message or a list of paths longer than {@link INLINE_ARG_CHARS} goes through a file (`-F`,
 * `--pathspec-from-file`), never the command line: a ticket title of megabytes would exceed the
 * argument limit. git refuses a NUL byte in a message, so NULs are dropped (the caller warns
 * about them). `bound` limits each git step (hooks included) and lets a stop end
 * it; an ended step is the error.
 *
 * `git commit --only` alone takes the working tree's content of every path git knows (edited,
 * deleted, staged or not); only an untracked file must be added first. So when the caller says
 * which paths are untracked (`opts.untracked`, from the `git status` it just ran) and none of
 * `paths` is, the `git add` is left out: one process (a fork of the broker, being detached) less
 * per ticket. Without `opts.untracked` every path is added first. With `opts.lookAfter`, the
 * working tree is looked at again right after the commit ({@link TreeLook}), beside the `git log`
 * that reads the commit: a hook may have changed files, so the look before the commit is not
 * carried over it.
 */
export async function commitPaths(
  dir: string,
  paths: string[],
  message: string[],
  bound: StepBound = {},
  opts: { untracked?: string[]; lookAfter?: boolean } = {},
): Promise<CommitResult> {
  if (paths.length === 0) return { commit: null, error: null, paths };
  const text = message.join("\n\n").replaceAll("\0", "") + "\n";
  const pathspecs = paths.map((p) => `:(literal)${p}`);
  // A message and paths of ordinary size go on the command line; larger ones through files (the
  // paths rather than a stdin pipe: the fewer spawned children the broker keeps track of, the less
  // memory it holds, measured over 100 tickets). Creating and removing the two files cost about
  // 2 ms per commit on this machine's disk.
  const inline = text.length <= INLINE_ARG_CHARS &&
    pathspecs.reduce((sum, p) => sum + p.length + 1, 0) <= INLINE_ARG_CHARS;
  const list = inline ? null : Deno.makeTempFileSync({ prefix: "cmcs-paths-" });
  const messageFile = inline ? null : Deno.makeTempFileSync({ prefix: "cmcs-message-" });
  try {
    if (list) Deno.writeTextFileSync(list, pathspecs.join("\0"));
    if (messageFile) Deno.writeTextFileSync(messageFile, text);
    const fromFile = list
      ? [`--pathspec-from-file=${list}`, "--pathspec-file-nul"]
      : ["--", ...pathspecs];
    const messageArgs = messageFile ? ["-F", messageFile] : ["-m", text];
    const options = { detached: true, ...bound };
    const untracked = opts.untracked === undefined ? null : new Set(opts.untracked);
    if (untracked === null || paths.some((path) => untracked.has(path))) {
      const added = await git(dir, ["add", "-A", ...fromFile], undefined, options);
      if (added.code !== 0) {
        return { commit: null, error: `git add failed: ${lastLines(added.stderr)}`, paths };
      }
    }
    const commit = await git(
      dir,
      ["commit", "--quiet", "--only", ...messageArgs, ...fromFile],
      undefined,
      options,
    );
    if (commit.code !== 0) {
      return {
        commit: null,
        error: `git commit failed: ${lastLines(commit.stderr || commit.stdout)}`,
        paths,
      };
    }
  } catch (error) {
    // The temporary files could not be written (a full disk): nothing was committed.
    return { commit: null, error: `cannot prepare the commit: ${(error as Error).message}`, paths };
  } finally {
    for (const file of [list, messageFile]) {
      try {
        if (file) Deno.removeSync(file);
      } catch { /* already gone */ }
    }
  }
  // The new commit, its parent and its files in one process: `<id> <parents>`, NUL, newline,
  // then the `--numstat -z` records.
  // The look the next attempt starts from is taken beside it (both only read), and not waited for.
  const look = opts.lookAfter ? lookAt(dir).catch(() => null) : undefined;
  const head = await git(dir, ["log", "-1", "-z", "--numstat", "--no-renames", "--format=%H %P"]);
  const cut = head.stdout.indexOf("\0");
  const [commit = "", parent = "", ...more] = head.stdout.slice(0, cut < 0 ? undefined : cut)
    .trim().split(" ");
  if (head.code !== 0 || !commit) {
    return { commit: (await git(dir, ["rev-parse", "HEAD"])).stdout.trim(), error: null, paths };
  }
  const single = more.length === 0;
  return {
    commit,
    error: null,
    paths,
    ...(look ? { look } : {}),
    ...(single ? { parent: parent || null, files: parseNumstat(head.stdout.slice(cut + 1)) } : {}),
  };
}

/**
 * The longest message, and the longest list of pathspecs, given to git as arguments (in UTF-16
 * units, so at most three times as many bytes: far below Linux's 128 KiB per argument).
 */
const INLINE_ARG_CHARS = 16 * 1024;

/** The trailer that ties a commit to the attempt that made it (documented in docs/architecture.md). */
export const ATTEMPT_TRAILER = "Cmcs-Attempt";

/** The trailer paragraph for attempt `attemptId` of run `runId`: `Cmcs-Attempt: 12/345`. */
export function attemptTrailer(runId: number, attemptId: number): string {
  return `${ATTEMPT_TRAILER}: ${runId}/${attemptId}`;
}

/**
 * The commit among the newest `depth` commits of HEAD (after `since`, when given) whose
 * `Cmcs-Attempt` trailer names this attempt: the one a broker made and died before recording.
 * Null when there is none (or git fails).
 */
export async function findAttemptCommit(
  dir: string,
  runId: number,
  attemptId: number,
  since: string | null,
  depth = 200,
): Promise<string | null> {
  const range = since ? [`${since}..HEAD`] : ["HEAD"];
  const out = await git(dir, [
    "log",
    `-n${depth}`,
    `--format=%H %(trailers:key=${ATTEMPT_TRAILER},valueonly,separator=%x20)`,
    ...range,
    "--",
  ]);
  if (out.code !== 0) return null;
  const wanted = `${runId}/${attemptId}`;
  for (const line of out.stdout.split("\n")) {
    const [hash, ...values] = line.trim().split(/\s+/);
    if (hash && values.includes(wanted)) return hash;
  }
  return null;
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

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-2).join(" / ") || "no output";
}
