import { print } from "../cli/output.ts";
import { basename, join } from "../core/path.ts";
import { exists, findProject, isDirectory } from "../core/project.ts";
import { currentBranch, git } from "../core/git.ts";
import { Database } from "../core/db/database.ts";
import { registerWorktree } from "../core/db/worktrees.ts";
import { UserError } from "../cli/errors.ts";

/** What `.cmcs/.gitignore` keeps out of git: the database (with its WAL/SHM files) and the logs. */
export const CMCS_GITIGNORE = "cmcs.db\ncmcs.db-*\nlogs/\n";

/**
 * `cmcs init`: creates `.cmcs/` with `tickets/`, `logs/`, the database and a `.gitignore` in the
 * project of the current directory — the **main checkout** when run inside a linked worktree, so
 * every worktree shares one state. Idempotent: prints one line per thing it created, or that the
 * project was already initialized. Outside git the current directory is the root. An existing
 * `.gitignore` is never overwritten (the user may have edited it).
 */
export async function init(): Promise<number> {
  const cwd = Deno.cwd();
  const project = await findProject(cwd);
  const created: string[] = [];

  const dirs = [project.cmcsDir, join(project.cmcsDir, "tickets"), project.logsDir];
  for (const dir of dirs) {
    if (exists(dir) && !isDirectory(dir)) {
      throw new UserError(`${dir} exists and is not a directory`, {
        hint: "move or remove it, then run `cmcs init` again",
      });
    }
  }
  for (const dir of dirs) {
    if (isDirectory(dir)) continue;
    await Deno.mkdir(dir, { recursive: true });
    created.push(`created ${dir}/`);
  }

  const gitignore = join(project.cmcsDir, ".gitignore");
  if (!exists(gitignore)) {
    await Deno.writeTextFile(gitignore, CMCS_GITIGNORE);
    created.push(`created ${gitignore} (keeps the database and logs out of git)`);
  }

  const hadDb = exists(project.dbPath);
  const db = Database.open(project.dbPath);
  try {
    if (!hadDb) created.push(`created ${project.dbPath}`);
    const branch = project.isGit ? await currentBranch(project.root) : null;
    registerWorktree(db, project.root, branch ?? basename(project.root));
  } finally {
    db.close();
  }

  const worktree = project.isGit ? await _linkedWorktree(cwd, project.root) : null;
  if (worktree) {
    print(
      `note: ${worktree} is a linked worktree; cmcs keeps its state in the main checkout ${project.root}`,
    );
  }
  if (created.length === 0) {
    print(`already initialized: ${project.cmcsDir}`);
  } else {
    for (const line of created) print(line);
    print(`initialized cmcs in ${project.cmcsDir}`);
  }
  return 0;
}

/** The top level of the linked worktree `cwd` is in, or null when it is the main checkout. */
async function _linkedWorktree(cwd: string, root: string): Promise<string | null> {
  const result = await git(cwd, ["rev-parse", "--show-toplevel"]);
  if (result.code !== 0 || result.stdout.trim() === "") return null;
  const top = await Deno.realPath(result.stdout.trim()).catch(() => result.stdout.trim());
  return top === root ? null : top;
}
