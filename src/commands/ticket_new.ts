import { basename } from "node:path";
import { UsageError, UserError } from "../cli/errors.ts";
import { printJson } from "../cli/output.ts";
import { loadConfig } from "../core/config.ts";
import { requireProject, resolveTarget } from "../core/project.ts";
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
 * can open it. The file is created exclusively: two concurrent calls get two numbers, and an
 * existing ticket is never overwritten. An empty title, model or unknown effort is a usage error.
 */
export async function ticketNew(
  path: string,
  opts: {
    title: string;
    model?: string;
    effort?: "low" | "medium" | "high" | "xhigh";
    json?: boolean;
  },
): Promise<number> {
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
  for (const warning of loaded.warnings) console.error(`warning: ${warning}`);
  const ticketsDir = resolveTicketsDir(target, loaded.config.tickets.dir);
  try {
    await Deno.mkdir(ticketsDir, { recursive: true });
  } catch (error) {
    throw new UserError(`cannot create the tickets directory ${ticketsDir}: ${error}`, {
      hint: "check that no file stands in its place and that it is writable",
    });
  }

  const text = new TextEncoder().encode(
    renderTicketTemplate({ title, model, effort: opts.effort }),
  );
  for (let tries = 0; tries < 20; tries++) {
    const next = await nextTicketPath(ticketsDir);
    try {
      await Deno.writeFile(next.path, text, { createNew: true });
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      throw new UserError(`cannot write ${next.path}: ${(error as Error).message}`);
    }
    const file = basename(next.path);
    if (opts.json) printJson({ path: next.path, id: ticketId(file), file, title });
    else console.log(next.path);
    return 0;
  }
  throw new UserError(`could not pick a free ticket number in ${ticketsDir}`, {
    hint: "another process keeps creating tickets there; try again",
  });
}
