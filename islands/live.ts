/**
 * One shared connection to `/api/events/stream` per page, for every island that shows live
 * events. The browser's EventSource resumes a dropped stream by itself, sending the last event id
 * it saw (`Last-Event-ID`); when it gives up, this reconnects after a pause from the last id
 * delivered, so no event is lost or shown twice.
 */
import { signal } from "@preact/signals";
import type { EventView } from "../src/dashboard/views.ts";

type Listener = (event: EventView) => void;

const listeners = new Set<Listener>();
let source: EventSource | null = null;
let lastId = 0;

/** True while the event stream is connected. */
export const connected = signal(false);

/**
 * Calls `listener` for every event newer than `after` as it is recorded; returns an unsubscribe.
 * The first subscriber's `after` (the newest event the page was rendered with) starts the stream.
 */
export function subscribeEvents(after: number, listener: Listener): () => void {
  listeners.add(listener);
  if (!source) {
    lastId = Math.max(lastId, after);
    connect();
  }
  return () => {
    listeners.delete(listener);
  };
}

function connect(): void {
  if (source) return;
  const es = new EventSource(`/api/events/stream?after=${lastId}`);
  source = es;
  es.onopen = () => connected.value = true;
  es.onmessage = (message) => {
    const event = JSON.parse(message.data) as EventView;
    if (event.id <= lastId) return;
    lastId = event.id;
    for (const listener of [...listeners]) listener(event);
  };
  es.onerror = () => {
    connected.value = false;
    if (es.readyState === EventSource.CLOSED) {
      source = null;
      setTimeout(connect, 2000);
    }
  };
}
