import { printError, setColor } from "../cli/output.ts";
import { UserError } from "../cli/errors.ts";
import { type Project, requireProject, resolveTarget } from "../core/project.ts";

export interface McpOptions {
  /** The repository to serve (default: the current directory's). */
  repo?: string;
}

/**
 * `cmcs mcp [--repo PATH]`: an MCP server on stdin/stdout whose tools are cmcs's commands, for any
 * orchestrating agent that speaks the Model Context Protocol. It serves one repository, the one it
 * was started in (or `--repo`): every path a tool is given must be that repository's main checkout
 * or one of its worktrees. It runs until its stdin closes; runs it started keep running after it.
 *
 * Started without `--repo` where cmcs is not initialized (a plugin registers the server for every
 * project), it still serves: each call then says to run `cmcs init`, and works once that is done.
 */
export async function mcp(opts: McpOptions): Promise<number> {
  const start = await resolveTarget(opts.repo ?? ".");
  let project: Project | null = opts.repo === undefined
    ? await requireProject(start).catch(() => null)
    : await requireProject(start);
  // Paths in tool calls and the commands' texts are relative to where the server was started:
  // the main checkout, or the linked worktree a client runs in (then "." is that worktree).
  Deno.chdir(start);
  // stdout carries the protocol: whatever a command would print goes to stderr instead, and
  // nothing is painted.
  setColor(false);
  console.log = console.error;
  console.info = console.error;
  const confine = async (path: string): Promise<string> => {
    project ??= await requireProject(start);
    const target = await resolveTarget(path);
    const owner = await requireProject(target).catch(() => null);
    if (owner?.root !== project.root) {
      throw new UserError(
        `${path} is not part of the repository this server serves (${project.root})`,
        { hint: "start another `cmcs mcp --repo PATH` for that repository" },
      );
    }
    return target;
  };
  const { serveStdio } = await import("./server.ts");
  await serveStdio({ confine, log: (line) => printError(line) });
  return 0;
}
