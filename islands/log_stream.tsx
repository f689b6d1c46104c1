import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { LogAttempt, LogBatch } from "../src/dashboard/views.ts";
import { LogLines } from "./log_lines.tsx";

/** Lines kept in the page; older ones are dropped as new ones arrive. */
const MAX_LINES = 2000;
const TRUNCATED_NOTE = "… earlier lines not shown\n";

export interface LogStreamProps {
  runId: number;
  /** The attempt whose log is shown (null before the run's first attempt). */
  attempt: LogAttempt | null;
  /** Its rendered tail, as the server read it. */
  lines: string[];
  /** Byte offset in the attempt's `codex.jsonl` where `lines` end: the stream continues there. */
  offset: number;
  /** Keep following the run (it is running): new lines, then the next attempt's log. */
  live: boolean;
  truncated: boolean;
}

/**
 * The current attempt's log, streamed from `/api/runs/:id/logs/stream`. The stream's event ids
 * are `<attempt id>:<byte offset>`, so a reconnecting EventSource resumes exactly where it was.
 */
export function LogStream(props: LogStreamProps) {
  const attempt = useSignal(props.attempt);
  const lines = useSignal(props.lines);
  const live = useSignal(props.live);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (!props.live) return;
    const from = props.attempt ? `${props.attempt.attempt_id}:${props.offset}` : "";
    const es = new EventSource(
      `/api/runs/${props.runId}/logs/stream?from=${encodeURIComponent(from)}`,
    );
    es.addEventListener("attempt", (message) => {
      attempt.value = JSON.parse((message as MessageEvent).data) as LogAttempt;
      lines.value = [];
    });
    es.addEventListener("lines", (message) => {
      const batch = JSON.parse((message as MessageEvent).data) as LogBatch;
      const el = box.current;
      const atBottom = !el || el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      lines.value = [...lines.value, ...batch.lines].slice(-MAX_LINES);
      if (el && atBottom) queueMicrotask(() => el.scrollTop = el.scrollHeight);
    });
    es.addEventListener("end", () => {
      live.value = false;
      es.close();
    });
    return () => es.close();
  }, []);
  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, []);
  const a = attempt.value;
  return (
    <div class="panel logbox">
      <div class="loghead">
        <strong>{a ? `${a.ticket} · attempt ${a.number}` : "No attempt yet"}</strong>
        {a?.outcome && <span class="note">{a.outcome}</span>}
        <span class="spacer" />
        {live.value && <span class="live">streaming</span>}
        {a && (
          <a class="note" href={`/api/runs/${props.runId}/logs?attempt=${a.attempt_id}&raw=1`}>
            raw JSONL
          </a>
        )}
      </div>
      <pre class="log" ref={box}>
        {props.truncated && <span class="l-out">{TRUNCATED_NOTE}</span>}
        {lines.value.length === 0
          ? <span class="l-out">(no output yet)</span>
          : <LogLines lines={lines.value} />}
      </pre>
    </div>
  );
}
