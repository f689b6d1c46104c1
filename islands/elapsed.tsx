import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { elapsedSeconds, formatDuration } from "../src/dashboard/format.ts";

export interface ElapsedProps {
  /** ISO start time. */
  start: string;
  /** ISO end time; while null the value ticks every second. */
  end: string | null;
}

/** Time since `start` (or from start to end), ticking once a second while the run goes on. */
export function Elapsed({ start, end }: ElapsedProps) {
  const now = useSignal(Date.now());
  useEffect(() => {
    if (end) return;
    const timer = setInterval(() => now.value = Date.now(), 1000);
    return () => clearInterval(timer);
  }, [end]);
  return (
    <time class="elapsed" dateTime={start} title={`started ${start}`}>
      {formatDuration(elapsedSeconds(start, end, now.value))}
    </time>
  );
}
