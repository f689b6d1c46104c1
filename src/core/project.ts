import { dirname, isAbsolute, join, resolve } from "./path.ts";
import { UserError } from "./errors.ts";
import { git } from "./git.ts";

/**
 * Where a repository keeps cmcs's state. The state lives in the **main checkout's** `.cmcs/`, so
 * every linked worktree of a repository shares one database, config and log directory.
 */
export interface Project {
  /** The main checkout (or, outside git, the directory cmcs was pointed at). */
  root: string;
  cmcsDir: string;
  dbPath: string;
  configPath: string;
  logsDir: string;
  /** True when `root` is inside a git repository. */
  isGit: boolean;
}

export function projectAt(root: string, isGit: boolean): Project {
  const cmcsDir = join(root, ".cmcs");
  return {
    root,
    cmcsDir,
    dbPath: join(cmcsDir, "cmcs.db"),
    configPath: join(cmcsDir, "config.yml"),
    logsDir: join(cmcsDir, "logs"),
    isGit,
  };
}

/**
 * Finds the project that `dir` belongs to. Inside a linked worktree git's common directory is the
 * main checkout's `.git`, whose parent is the main checkout. Outside git, `dir` itself is the root.
 * A bare repository or a submodule has no usable parent of the common dir; the top level of the
 * working tree is used instead.
 */
export async function findProject(dir: string): Promise<Project> {
  const absolute = realDir(dir);
  const result = await git(absolute, [
    "rev-parse",
    "--path-format=absolute",
    "--git-common-dir",
    "--show-toplevel",
  ]);
  if (result.code !== 0) return await _outsideWorkTree(absolute);
  const [commonDir, topLevel] = result.stdout.trim().split("\n");
  const common = isAbsolute(commonDir) ? commonDir : resolve(absolute, commonDir);
  const root = common.endsWith("/.git") || common.endsWith("\\.git") ? dirname(common) : topLevel;
  return projectAt(realDir(root ?? absolute), true);
}

/**
 * The project of a directory that is in no working tree: inside a repository's `.git` it is that
 * repository (not a `.cmcs` inside `.git`); a bare repository has no checkout for workers to edit,
 * which is an error; anything else is outside git, and the directory is its own root.
 */
async function _outsideWorkTree(dir: string): Promise<Project> {
  const result = await git(dir, [
    "rev-parse",
    "--path-format=absolute",
    "--is-bare-repository",
    "--is-inside-git-dir",
    "--git-common-dir",
  ]);
  if (result.code === 0) {
    const [bare, inGitDir, common] = result.stdout.trim().split("\n");
    if (bare === "true") {
      throw new UserError(`${dir} is a bare git repository: cmcs needs a checkout to work in`, {
        hint: "run cmcs in a clone or a worktree of it",
      });
    }
    if (inGitDir === "true" && common && /[/\\]\.git$/.test(common)) {
      return projectAt(realDir(dirname(common)), true);
    }
  }
  return projectAt(dir, false);
}

/**
 * {@link findProject} without starting git when `dir` is itself a main checkout: a `.git`
 * directory holding `HEAD` and no `commondir` (which only a linked worktree's git directory has)
 * is what git would name as the common directory, so its parent, `dir`, is the project. Anything
 * else asks git. For read-only commands on every prompt (`cmcs status`), where git's start is most
 * of the time taken: git's own overrides (`GIT_DIR` in the environment, which cmcs may not read,
 * or a repository git refuses as not owned by the user) are not seen here.
 */
export async function findProjectQuick(dir: string): Promise<Project> {
  const absolute = realDir(dir);
  const gitDir = join(absolute, ".git");
  try {
    const dotGit = Deno.lstatSync(gitDir);
    const head = Deno.lstatSync(join(gitDir, "HEAD"));
    if (dotGit.isDirectory && head.isFile && !exists(join(gitDir, "commondir"))) {
      return projectAt(absolute, true);
    }
  } catch {
    // no .git directory here: git finds the repository
  }
  return await findProject(absolute);
}

/**
 * Like {@link findProject}, but fails with a hint to run `cmcs init` when `.cmcs/` is missing;
 * `quick` uses {@link findProjectQuick}.
 */
export async function requireProject(
  dir: string,
  opts: { quick?: boolean } = {},
): Promise<Project> {
  const project = await (opts.quick ? findProjectQuick(dir) : findProject(dir));
  if (!isDirectory(project.cmcsDir)) {
    throw new UserError(`cmcs is not initialized in ${project.root} (no .cmcs/ directory)`, {
      hint: `run \`cmcs init\` in ${project.root} first`,
    });
  }
  return project;
}

/** Resolves a user-given directory (relative to the CWD) to its real path; errors if it is not one. */
export function realDir(path: string): string {
  let real: string;
  try {
    real = Deno.realPathSync(resolve(path));
  } catch {
    throw new UserError(`no such directory: ${path}`, {
      hint: "pass a path to a repository or worktree",
    });
  }
  if (!isDirectory(real)) {
    const ticket = /^(TICKET-[^/]*?)(?:\.md)?$/.exec(real.split("/").at(-1) ?? "")?.[1];
    throw new UserError(`not a directory: ${path}`, {
      hint: ticket
        ? `that is a ticket file; pass the repository or worktree path (e.g. .) and then ${ticket}`
        : "pass a path to a repository or worktree",
    });
  }
  return real;
}

/**
 * True when `path` is a directory (symlinks followed). Synchronous, like {@link exists}: a local
 * stat takes microseconds, while the thread-pool trip of an async one costs more than the work,
 * on the start-up path of every command.
 */
export function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves a user-given target path. A directory with its own `.cmcs/` (a checkout, a worktree, or
 * a package of a monorepo with its own tickets) is its own target; any other directory inside a
 * git working tree stands for that tree's top level, so `cmcs run` from `src/` acts on the whole
 * checkout or worktree. Outside git the directory itself is the target.
 */
export async function resolveTarget(path: string): Promise<string> {
  const dir = realDir(path);
  if (isDirectory(join(dir, ".cmcs"))) return dir;
  const result = await git(dir, ["rev-parse", "--show-toplevel"]);
  if (result.code !== 0 || !result.stdout.trim()) return dir;
  return realDir(result.stdout.trim());
}
