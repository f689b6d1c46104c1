/** The text `ticket new` writes: a valid front matter and the sections a good ticket has. */
import { stringify } from "yaml";

/**
 * Renders a new ticket: front matter with `title`, `agent: codex`, the optional `model` and
 * `reasoning_effort`, and `done: false`, then `## Goal`, `## Task` and `## Acceptance Criteria`
 * with one line of guidance each. Values are written by the YAML serialiser, so a title such as
 * `Fix: "yes" # 2` or `true` is quoted and reads back as the same text. Whitespace runs in the
 * title (including newlines) become single spaces: a title is one line.
 */
export function renderTicketTemplate(
  opts: { title: string; model?: string | null; effort?: string | null; body?: string },
): string {
  const fields: Record<string, unknown> = {
    title: opts.title.replace(/\s+/g, " ").trim(),
    agent: "codex",
  };
  if (opts.model) fields.model = opts.model;
  if (opts.effort) fields.reasoning_effort = opts.effort;
  fields.done = false;
  const frontMatter = stringify(fields, { lineWidth: 0 });
  // A body given whole (over MCP the orchestrator writes the ticket in one call) replaces the
  // placeholder sections; it always ends with a newline, like a file written by hand.
  if (opts.body !== undefined && opts.body.trim() !== "") {
    return `---\n${frontMatter}---\n\n${opts.body.replace(/^\n+/, "").replace(/\s*$/, "\n")}`;
  }
  return `---
${frontMatter}---

## Goal

<!-- What should be true when this ticket is done, and why it matters. One or two sentences. -->

## Task

<!-- The concrete work: files to change, behaviour to add, constraints to respect. -->

## Acceptance Criteria

- <!-- A check the worker can run or observe, e.g. "deno task test passes". -->
`;
}
