import type { Ticket } from "../tickets.ts";

/**
 * The prompt a worker receives on stdin. It keeps the earlier tool's contract word for word where
 * scripts depend on it: the anchor `update the ticket file at <path>:` (fake workers and wrappers
 * find the ticket with it), the `## Progress` request, the previous ticket's progress, and the raw
 * ticket between `--- TICKET ---` markers.
 */
export function buildPrompt(
  input: { target: string; ticket: Ticket; previousProgress: string | null },
): string {
  const { target, ticket, previousProgress } = input;
  const lines = [
    "You are a Codex worker in the cmcs workflow: an orchestrator wrote the ticket below for you.",
    `Working directory: ${target}`,
    "Complete the task by editing files in the working directory; run the checks the ticket asks for.",
    `When done, update the ticket file at ${ticket.path}:`,
    "  - set `done: true` in its YAML front matter",
    "  - append a `## Progress` section saying what you changed, how you checked it, and anything left open",
    "",
  ];
  if (previousProgress) {
    lines.push("Context from the previous ticket:", previousProgress, "");
  }
  lines.push("--- TICKET ---", ticket.raw.replace(/\s+$/, ""), "--- END TICKET ---");
  return lines.join("\n");
}

/** The prompt for `cmcs resume`: the orchestrator's feedback on the same conversation. */
export function buildResumePrompt(input: { ticket: Ticket; feedback: string }): string {
  return [
    "The orchestrator reviewed your work on this ticket and sends it back with this feedback:",
    "",
    input.feedback.trim(),
    "",
    `Address it in the working directory. When done, update the ticket file at ${input.ticket.path}:`,
    "  - set `done: true` in its YAML front matter (cmcs set it back to false)",
    "  - append to its `## Progress` section what you changed in this round",
  ].join("\n");
}
