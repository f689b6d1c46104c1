import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { baseName, clip, formatDuration, formatTime, statusTone } from "../src/dashboard/format.ts";
import type { EventView } from "../src/dashboard/views.ts";
import { connected, subscribeEvents } from "./live.ts";

export interface EventFeedProps {
  /** The events rendered by the server, newest first. */
  events: EventView[];
  /** The newest event id when the page was rendered: live events start after it. */
  after: number;
  /** Only events of this run. */
  runId: number | null;
  /** Prepend new events as they are recorded (the first page only). */
  live: boolean;
  /** Keep at most this many rows. */
  limit: number;
}

/** A table of events, newest first, that grows at the top as events are recorded. */
export function EventFeed(props: EventFeedProps) {
  const events = useSignal(props.events);
  const fresh = useSignal<Set<number>>(new Set());
  const mounted = useSignal(false);
  useEffect(() => {
    mounted.value = true;
    if (!props.live) return;
    return subscribeEvents(props.after, (event) => {
      if (props.runId !== null && event.run_id !== props.runId) return;
      if (events.value.some((e) => e.id === event.id)) return;
      events.value = [event, ...events.value].slice(0, props.limit);
      fresh.value = new Set([...fresh.value, event.id]);
    });
  }, []);
  const showRun = props.runId === null;
  return (
    <div class="scroll">
      {props.live && mounted.value && (
        <div class="note feed-state">
          {connected.value ? <span class="live">live</span> : <span>connecting…</span>}
        </div>
      )}
      {events.value.length === 0 ? <div class="empty">No events yet.</div> : (
        <table class="events">
          <thead>
            <tr>
              <th>Time (UTC)</th>
              {showRun && <th>Run</th>}
              {showRun && <th>Target</th>}
              <th>Ticket</th>
              <th>Event</th>
              <th>Details</th>
              <th class="num">Duration</th>
            </tr>
          </thead>
          <tbody>
            {events.value.map((event) => (
              <EventRowView
                key={event.id}
                event={event}
                showRun={showRun}
                fresh={fresh.value.has(event.id)}
              />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function EventRowView(
  { event, showRun, fresh }: { event: EventView; showRun: boolean; fresh: boolean },
) {
  const details = [
    event.outcome && event.outcome !== event.event ? event.outcome : "",
    event.model ? `model ${event.model}` : "",
    event.exit_code !== null && event.exit_code !== undefined ? `exit ${event.exit_code}` : "",
    clip(event.message, 160),
  ].filter(Boolean).join(" · ");
  return (
    <tr class={fresh ? "fresh" : undefined} data-event-id={event.id}>
      <td class="nowrap mono" title={event.timestamp}>{formatTime(event.timestamp)}</td>
      {showRun && (
        <td class="nowrap">
          <a href={`/runs/${event.run_id}`}>#{event.run_id}</a>
        </td>
      )}
      {showRun && (
        <td class="nowrap">
          <a href={`/targets?path=${encodeURIComponent(event.target)}`} title={event.target}>
            {baseName(event.target)}
          </a>
        </td>
      )}
      <td class="nowrap mono">{event.ticket || "-"}</td>
      <td>
        <span class={`badge ${statusTone(event.event)}`}>{event.event}</span>
      </td>
      <td class="msg">{details}</td>
      <td class="num">{formatDuration(event.duration_s)}</td>
    </tr>
  );
}
