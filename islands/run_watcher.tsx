import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { subscribeEvents } from "./live.ts";

/** Events after which the run page's timeline, messages and diffs are out of date. */
const CHANGES = new Set(["started", "completed", "failed", "committed", "run_finished", "skipped"]);

export interface RunWatcherProps {
  runId: number;
  after: number;
}

/**
 * Watches one run's events and, when its timeline changed (an attempt started or ended, the run
 * finished), offers a reload; the live log and event list update by themselves.
 */
export function RunWatcher({ runId, after }: RunWatcherProps) {
  const change = useSignal<string | null>(null);
  useEffect(() =>
    subscribeEvents(after, (event) => {
      if (event.run_id !== runId || !CHANGES.has(event.event)) return;
      change.value = event.event === "run_finished"
        ? "The run has ended."
        : `${event.ticket || "A ticket"}: ${event.event}.`;
    }), []);
  if (!change.value) return <div class="watcher" />;
  return (
    <div class="watcher notice">
      {change.value} <a href={`/runs/${runId}`}>Reload</a> to update the timeline.
    </div>
  );
}
