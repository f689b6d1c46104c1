import type { Progress } from "../core/runner/progress.ts";
import { formatDuration, formatTokens, paint, statusColor } from "./output.ts";

/**
 * Turns a run's facts into plain lines, one per transition (good in a pipe and in an agent's shell
 * tool). With several targets each line starts with the target's label.
 */
export function progressPrinter(
  write: (line: string) => void,
  labelOf: (target: string) => string | null = () => null,
): (progress: Progress) => void {
  return (p) => {
    const label = labelOf(p.target);
    const prefix = label ? `${paint("gray", `[${label}]`)} ` : "";
    for (const line of describe(p)) write(prefix + line);
  };
}

function describe(p: Progress): string[] {
  switch (p.kind) {
    case "run_started":
      return [
        `run ${p.runId} started on ${p.target} (${p.pending} ticket${
          p.pending === 1 ? "" : "s"
        } to run)`,
      ];
    case "skipped":
      return [`${p.ticket}  skipped (agent: ${p.agent})`];
    case "attempt_started": {
      const what = [
        p.attemptKind === "first" ? null : `${p.attemptKind} attempt ${p.number}`,
        `model ${p.model ?? "codex default"}`,
        p.effort ? `effort ${p.effort}` : null,
      ].filter(Boolean).join(", ");
      return [`${p.ticket}  started${p.title ? ` "${p.title}"` : ""} (${what})`];
    }
    case "attempt_finished": {
      const facts = [
        formatDuration(p.durationS ?? 0),
        p.tokens ? `${formatTokens(p.tokens)} tokens` : null,
        p.commit ? `commit ${p.commit.slice(0, 8)}` : null,
      ]
        .filter(Boolean)
        .join(", ");
      const lines = [
        `${p.ticket}  ${paint(statusColor(p.outcome), p.outcome)} (${facts})${
          p.message && p.outcome !== "done" ? `: ${p.message}` : ""
        }`,
      ];
      return lines;
    }
    case "retry":
      return [`${p.ticket}  retry: ${p.reason}`];
    case "warning":
      return [`${p.ticket}  ${paint("yellow", "warning")}: ${p.message}`];
    case "committed": // the attempt's line names the commit
    case "ticket_finished":
      return [];
    case "run_finished":
      return [
        `run ${p.runId} ${paint(statusColor(p.status), p.status)}${
          p.message ? `: ${p.message}` : ""
        }`,
      ];
  }
}
