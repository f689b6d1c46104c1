/**
 * `worktree create`: a git worktree for a branch under the worktrees root, registered with a
 * port, bootstrapped with the ignored files it needs, its tickets, and the configured setup.
 * Everything that can be checked is checked before git is touched, so a mistake (bad branch name,
 * unknown ref, branch checked out elsewhere, no ticket matching) leaves nothing behind.
 */
import { join, relative } from "../path.ts";
import { UserError } from "../errors.ts";
import type { Config } from "../config.ts";
import type { Database } from "../db/database.ts";
import { registerWorktree } from "../db/worktrees.ts";
import { currentBranch, git, gitOk } from "../git.ts";
import { describeShellResult, runShellCommand, tail } from "../hooks.ts";
import { exists, type Project } from "../project.ts";
import { resolveTicketsDir } from "../tickets.ts";
import { copyFiles, matchTickets, planCopy } from "./bootstrap.ts";
import { liveGitWorktrees } from "./discover.ts";
import { branchExists, resolveCommit, validateBranchName } from "./git_worktrees.ts";
import { branchLogDir, targetLabel, worktreePathFor, worktreesRoot } from "./paths.ts";
import { pickPort } from "./ports.ts";

export interface CreateOptions {
  branch: string;
  /** Start point of a new branch (default: `worktrees.base`, else the main checkout's HEAD). */
  from?: string;
  /** Glob of ticket file names to copy from the main checkout's tickets dir. */
  tickets?: string;
  /** Ends the setup command (Ctrl-C): it then fails as `ended by a stop`. */
  signal?: AbortSignal;
}

export interface SetupReport {
  command: string;
  ok: boolean;
  exit_code: number | null;
  signal: string | null;
  /** How it ended, in words: `exit 0`, `exit 7`, `timed out after 1800s`, `killed by SIGKILL`. */
  outcome: string;
  duration_s: number;
  /** Absolute path of the file holding the whole output. */
  log: string;
  /** The last lines of the output. */
  output_tail: string;
}

export interface CreateResult {
  branch: string;
  path: string;
  label: string;
  /** True when the branch was created; false when an existing branch was checked out. */
  new_branch: boolean;
  /** Commit the worktree started at. */
  head: string;
  /** What `worktree list` and `cleanup` compare the branch with. */
  base_ref: string | null;
  port: number;
  /** Ignored files copied from the main checkout (relative paths). */
  copied: string[];
  /** Ticket files copied into the worktree's tickets dir (names). */
  tickets: string[];
  setup: SetupReport | null;
  warnings: string[];
}

/** Creates the worktree; a failing setup is reported in the result (the worktree is kept). */
export async function createWorktree(
  project: Project,
  config: Config,
  db: Database,
  opts: CreateOptions,
): Promise<CreateResult> {
  if (!project.isGit) {
    throw new UserError(`${project.root} is not a git repository`, {
      hint: "worktrees need git: run `git init` and commit first",
    });
  }
  const root = project.root;
  const branch = await validateBranchName(root, opts.branch);
  const path = worktreePathFor(worktreesRoot(project, config), branch);
  const label = targetLabel(project, path);
  const warnings: string[] = [];

  const live = await liveGitWorktrees(project);
  const holder = live.find((w) => w.branch === branch);
  if (holder) {
    throw new UserError(
      `branch ${branch} is already checked out at ${holder.realPath}`,
      {
        hint: holder.realPath === root
          ? "switch the main checkout to another branch first, or pick another branch name"
          : `use that worktree (cmcs run ${
            targetLabel(project, holder.realPath)
          }), or pick another branch name`,
      },
    );
  }
  if (exists(path)) {
    throw new UserError(`${label} already exists`, {
      hint: "pick another branch name, or move that directory away",
    });
  }

  const existing = await branchExists(root, branch);
  const mainBranch = await currentBranch(root);
  let startRef: string;
  if (existing) {
    startRef = branch;
    if (opts.from) {
      warnings.push(`branch ${branch} already exists: checked out as it is, --from ignored`);
    }
  } else {
    startRef = opts.from ?? config.worktrees.base ?? "HEAD";
  }
  const head = await resolveCommit(root, startRef);
  if (!head) {
    if (startRef === "HEAD") {
      throw new UserError(`the main checkout ${root} has no commit yet`, {
        hint: "commit something first: a worktree starts from a commit",
      });
    }
    throw new UserError(`unknown ref "${startRef}": it names no commit in ${root}`, {
      hint: opts.from
        ? "pass a branch, tag or commit that exists to --from"
        : "fix worktrees.base in .cmcs/config.yml",
    });
  }
  const baseRef = existing
    ? (config.worktrees.base ?? mainBranch)
    : (opts.from ?? config.worktrees.base ?? mainBranch ?? head);

  const sourceTickets = resolveTicketsDir(root, config.tickets.dir);
  const tickets = opts.tickets === undefined ? [] : await matchTickets(sourceTickets, opts.tickets);
  if (opts.tickets !== undefined && tickets.length === 0) {
    throw new UserError(
      `no ticket in ${relative(root, sourceTickets) || "."} matches "${opts.tickets}"`,
      {
        hint:
          "list them with `ls .cmcs/tickets`; the glob matches file names, e.g. TICKET-00[1-3]*",
      },
    );
  }
  const range = config.worktrees.port_range;
  pickPort(db, range); // fails now, before git is touched, when the range is exhausted

  await _ignoreWorktreesRoot(project, config);
  const add = existing
    ? ["worktree", "add", path, branch]
    : ["worktree", "add", "-b", branch, path, startRef];
  // A post-checkout hook runs inside `git worktree add`: bounded like every git step with hooks.
  const added = await git(root, add, undefined, { timeoutS: config.git.timeout_s });
  if (added.code !== 0) {
    const said = added.stderr || added.stdout;
    throw new UserError(
      `git ${add.join(" ")} failed: ${tail(said, 2).replaceAll("\n", " / ")}`,
      /missing but already registered worktree/.test(said)
        ? {
          hint: `its folder was deleted by hand: \`git worktree prune\` forgets it (the branch ` +
            `${branch} stays), then create it again`,
        }
        : {},
    );
  }
  const realPath = await Deno.realPath(path);

  const port = db.transaction(() => {
    const chosen = pickPort(db, range);
    registerWorktree(db, realPath, branch, { reactivate: true, baseRef, port: chosen });
    return chosen;
  });

  const plan = await planCopy(
    root,
    [...config.worktrees.copy],
    _neverCopy(project, config),
  );
  await copyFiles(root, realPath, plan.files);
  for (const pattern of plan.unmatched) {
    warnings.push(`worktrees.copy: "${pattern}" matches no untracked file in the main checkout`);
  }
  for (const file of plan.notIgnored) {
    warnings.push(`not copied: ${file} is not ignored by git (commit it, or add it to .gitignore)`);
  }

  const targetTickets = resolveTicketsDir(realPath, config.tickets.dir);
  await Deno.mkdir(targetTickets, { recursive: true });
  for (const name of tickets) {
    await Deno.copyFile(join(sourceTickets, name), join(targetTickets, name));
  }

  const setup = config.worktrees.setup
    ? await _runSetup(project, config, realPath, branch, port, opts.signal)
    : null;

  return {
    branch,
    path: realPath,
    label,
    new_branch: !existing,
    head: (await gitOk(realPath, ["rev-parse", "HEAD"])).trim(),
    base_ref: baseRef,
    port,
    copied: plan.files,
    tickets,
    setup,
    warnings,
  };
}

/** Environment of the worktree `setup` and `archive` commands. */
export function worktreeEnv(
  project: Project,
  path: string,
  branch: string,
  port: number | null,
): Record<string, string> {
  return {
    CMCS_WORKTREE: path,
    CMCS_BRANCH: branch,
    CMCS_PORT: port === null ? "" : String(port),
    CMCS_MAIN: project.root,
  };
}

async function _runSetup(
  project: Project,
  config: Config,
  path: string,
  branch: string,
  port: number,
  signal: AbortSignal | undefined,
): Promise<SetupReport> {
  const command = config.worktrees.setup!;
  const timeoutS = config.worktrees.timeout_s;
  const result = await runShellCommand({
    command,
    cwd: path,
    env: worktreeEnv(project, path, branch, port),
    timeoutS,
    signal,
  });
  const logDir = branchLogDir(project, branch);
  await Deno.mkdir(logDir, { recursive: true });
  const log = join(logDir, "setup.log");
  await Deno.writeTextFile(
    log,
    `$ ${command}\n# in ${path}; ${describeShellResult(result, timeoutS)} after ${
      result.durationS.toFixed(1)
    }s\n${result.output}`,
  );
  return {
    command,
    ok: result.code === 0,
    exit_code: result.code,
    signal: result.signal ?? result.spawnError,
    outcome: describeShellResult(result, timeoutS),
    duration_s: Math.round(result.durationS * 1000) / 1000,
    log,
    output_tail: tail(result.output, 40),
  };
}

/** Paths of the main checkout a worktree must never get a copy of. */
function _neverCopy(project: Project, config: Config): (rel: string) => boolean {
  const worktrees = relative(project.root, worktreesRoot(project, config)).replaceAll("\\", "/");
  return (rel) =>
    rel === worktrees || rel.startsWith(`${worktrees}/`) ||
    /^\.cmcs\/(cmcs\.db|logs\/)/.test(rel);
}

/**
 * Keeps the worktrees root out of the main checkout's `git status` (and so out of its
 * auto-commits, which would otherwise add each worktree as an embedded repository) by adding it to
 * the repository's local `info/exclude` — never to a tracked file.
 */
async function _ignoreWorktreesRoot(project: Project, config: Config): Promise<void> {
  const rel = relative(project.root, worktreesRoot(project, config)).replaceAll("\\", "/");
  const probe = await git(project.root, ["check-ignore", "-q", `${rel}/x`]);
  if (probe.code === 0) return;
  const common = (await gitOk(project.root, [
    "rev-parse",
    "--path-format=absolute",
    "--git-common-dir",
  ])).trim();
  const exclude = join(common, "info", "exclude");
  await Deno.mkdir(join(common, "info"), { recursive: true });
  const current = await Deno.readTextFile(exclude).catch(() => "");
  const line = `/${rel}/`;
  if (current.split("\n").includes(line)) return;
  const prefix = current === "" || current.endsWith("\n") ? "" : "\n";
  await Deno.writeTextFile(
    exclude,
    `${current}${prefix}# cmcs: worktrees live here (worktrees.root)\n${line}\n`,
  );
}
