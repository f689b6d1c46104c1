import { basename, join, relative, sep } from "../core/path.ts";
import { UsageError, UserError } from "../cli/errors.ts";
import { printError } from "../cli/output.ts";
import { printReport, type Report } from "../cli/report.ts";
import { loadConfig } from "../core/config.ts";
import { type Project, requireProject, resolveTarget } from "../core/project.ts";
import { gitWorktrees } from "../core/worktrees/git_worktrees.ts";
import {
  nextTicketPath,
  REASONING_EFFORTS,
  renderTicketTemplate,
  resolveTicketsDir,
  ticketId,
} from "../core/tickets.ts";

/**
 * `cmcs ticket new [path] --title T`: writes the next-numbered ticket of the target from the
 * template (creating the tickets directory if needed) and prints its absolute path, so the caller
 * can open it. The number follows the target's highest ticket, passing over numbers that another
 * worktree of the repository already uses, so branches worked on in parallel never both add the
 * same ticket file. The file
 * is created exclusively: two concurrent calls get two numbers, and an existing ticket is never
 * overwritten. An empty title, model or unknown effort is a usage error.
 */
export async function ticketNew(path: string, opts: TicketNewOptions): Promise<number> {
  return printReport(await ticketNewReport(path, opts), opts.json);
}

export interface TicketNewOptions {
  title: string;
  model?: string;
  effort?: "low" | "medium" | "high" | "xhigh";
  /** Written after the template's front matter and title instead of its placeholder body. */
  body?: string;
  json?: boolean;
}

/** The ticket file `cmcs ticket new` wrote: its path, id and title. */
export interface NewTicket {
  path: string;
  id: string;
  file: string;
  title: string;
  skipped: string[];
}

/** Writes the next ticket (see {@link ticketNew}) and reports it in both forms. */
export async function ticketNewReport(
  path: string,
  opts: TicketNewOptions,
): Promise<Report<NewTicket>> {
  const title = opts.title.replace(/\s+/g, " ").trim();
  if (title === "") {
    throw new UsageError("--title must not be empty", 'give the ticket a title: --title "…"');
  }
  const model = opts.model?.trim();
  if (model === "") {
    throw new UsageError("--model must not be empty", "omit --model to use the configured model");
  }
  if (opts.effort !== undefined && !REASONING_EFFORTS.includes(opts.effort)) {
    throw new UsageError(
      `--effort must be one of ${REASONING_EFFORTS.join(", ")}, got "${opts.effort}"`,
    );
  }

  const target = await resolveTarget(path);
  const project = await requireProject(target);
  const loaded = await loadConfig(project);
  for (const warning of loaded.warnings) printError(`warning: ${warning}`);
  const ticketsDir = resolveTicketsDir(target, loaded.config.tickets.dir);
  try {
    await Deno.mkdir(ticketsDir, { recursive: true });
  } catch (error) {
    throw new UserError(`cannot create the tickets directory ${ticketsDir}: ${error}`, {
      hint: "check that no file stands in its place and that it is writable",
    });
  }

  const text = new TextEncoder().encode(
    renderTicketTemplate({ title, model, effort: opts.effort, body: opts.body }),
  );
  const otherDirs = await _otherWorktreeTicketDirs(project, ticketsDir);
  for (let tries = 0; tries < 20; tries++) {
    const next = await nextTicketPath(ticketsDir, otherDirs);
    try {
      await Deno.writeFile(next.path, text, { createNew: true });
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      throw new UserError(`cannot write ${next.path}: ${(error as Error).message}`);
    }
    const file = basename(next.path);
    if (next.skipped.length > 0) {
      printError(
        `note: skipped the number${next.skipped.length === 1 ? "" : "s"} of ${
          next.skipped.join(", ")
        } (another worktree of this repository)`,
      );
    }
    return {
      code: 0,
      data: { path: next.path, id: ticketId(file), file, title, skipped: next.skipped },
      text: [next.path],
    };
  }
  throw new UserError(`could not pick a free ticket number in ${ticketsDir}`, {
    hint: "another process keeps creating tickets there; try again",
  });
}

/**
 * The same tickets directory in every other worktree of the target's repository (bare and pruned
 * ones left out): `<worktree>/<the tickets dir's path inside its own worktree>`, so a package of a
 * monorepo with its own `.cmcs/` is matched with the same package elsewhere. Outside git there are
 * none; when git cannot list them, a warning says that only the target's own tickets decide.
 */
async function _otherWorktreeTicketDirs(project: Project, ticketsDir: string): Promise<string[]> {
  if (!project.isGit) return [];
  let paths: string[];
  try {
    const worktrees = await gitWorktrees(project.root);
    paths = await Promise.all(
      worktrees.filter((w) => !w.bare && !w.prunable).map((w) => _realPathOr(w.path)),
    );
  } catch (error) {
    printError(
      `warning: cannot list the repository's worktrees (${
        (error as Error).message
      }); the ticket number only avoids this target's tickets`,
    );
    return [];
  }
  // Worktrees can nest (cmcs puts them under the main checkout): the longest containing path wins.
  const own = paths.filter((path) => ticketsDir.startsWith(path + sep))
    .sort((a, b) => b.length - a.length)[0];
  if (!own) return [];
  const inside = relative(own, ticketsDir);
  return paths.filter((path) => path !== own).map((path) => join(path, inside));
}

async function _realPathOr(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return path;
  }
}
