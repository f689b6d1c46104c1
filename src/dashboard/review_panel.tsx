/**
 * The review queue on the overview: the tickets whose work awaits the orchestrator's decision,
 * and those sent back, each linked to the run that finished it, with the command that accepts it.
 */
import { relative } from "../core/path.ts";
import type { QueuedTicket } from "../core/review/review_queue.ts";
import type { ReviewState } from "../core/review/review_state.ts";
import { shellWord } from "../core/command_words.ts";
import { TargetLink, Time } from "./components.tsx";

/** Rows shown per state; the heading counts them all. */
const MAX_ROWS = 100;

const LABELS: Record<ReviewState, string> = {
  awaiting_review: "awaiting review",
  accepted: "accepted",
  sent_back: "sent back",
};

/** A review state as a badge (`awaiting review`, `accepted`, `sent back`). */
export function ReviewBadge({ state }: { state: ReviewState | null }) {
  if (state === null) return null;
  const tone = state === "accepted" ? "ok" : state === "sent_back" ? "warn" : "run";
  return <span class={`badge review ${tone}`} data-review={state}>{LABELS[state]}</span>;
}

export function ReviewPanel({ queue, root }: { queue: QueuedTicket[]; root: string }) {
  const open = queue.filter((t) => t.state !== "accepted");
  if (open.length === 0) {
    return <section class="panel empty">No ticket awaits review.</section>;
  }
  return (
    <section class="panel">
      <div class="scroll">
        <table class="review">
          <thead>
            <tr>
              <th>Ticket</th>
              <th>Target</th>
              <th>State</th>
              <th>Run</th>
              <th>Finished (UTC)</th>
              <th>Accept with</th>
            </tr>
          </thead>
          <tbody>
            {open.slice(0, MAX_ROWS).map((t) => (
              <tr key={`${t.target}/${t.ticket}`} data-ticket={t.ticket}>
                <td class="nowrap">
                  <a class="mono" href={`/runs/${t.run_id}#ticket-${t.ticket}`}>{t.ticket}</a>
                  {t.title && <div class="note">{t.title}</div>}
                </td>
                <td class="nowrap">
                  <TargetLink path={t.target} />
                </td>
                <td>
                  <ReviewBadge state={t.state} />
                </td>
                <td class="nowrap">
                  <a href={`/runs/${t.run_id}`}>#{t.run_id}</a>
                </td>
                <td>
                  <Time iso={t.finished_at} />
                </td>
                <td class="mono">
                  {t.state === "awaiting_review"
                    ? `cmcs accept ${shellWord(relative(root, t.target) || ".")} ${
                      shellWord(t.ticket)
                    }`
                    : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {open.length > MAX_ROWS && <div class="note">… and {open.length - MAX_ROWS} more</div>}
    </section>
  );
}
