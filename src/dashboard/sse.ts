/**
 * Server-sent event streams: new database events (`/api/events/stream`) and the live log of a
 * run's current attempt (`/api/runs/:id/logs/stream`). Both poll (SQLite by event id, the log file
 * by size) every `pollMs`, resume from `Last-Event-ID` after a dropped connection, and end when
 * the client goes away or the server shuts down.
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { latestAttempt, runAttempt } from "../core/db/attempts.ts";
import { feedEventsAfter, latestEventId } from "../core/db/event_feed.ts";
import { getRun } from "../core/db/runs.ts";
import type { AttemptRow, RunRow } from "../core/db/types.ts";
import type { DashboardContext } from "./context.ts";
import { attemptFile, LogFollower } from "./logs.ts";
import type { LogAttempt, LogBatch } from "./views.ts";

/** Events sent per database read at most. */
const EVENT_BATCH = 200;
/** Lines per `lines` message at most. */
const LINE_BATCH = 500;
/** A comment line this often keeps proxies and the browser from timing the stream out. */
const KEEPALIVE_MS = 15_000;
/** How long the browser waits before reconnecting a dropped stream. */
const RETRY_MS = 1000;

/**
 * Streams every event recorded after the client's position — `Last-Event-ID`, else `?after=`,
 * else the newest event now — oldest first, each with `id:` set to the event id. `runId` limits
 * it to one run.
 */
export function eventStream(c: Context, ctx: DashboardContext, runId?: number): Response {
  const resume = digits(c.req.header("Last-Event-ID")) ?? digits(c.req.query("after"));
  let last = resume ?? latestEventId(ctx.db);
  return streamSSE(c, async (stream) => {
    const stop = linkAbort(ctx.signal, stream);
    try {
      await stream.write(`retry: ${RETRY_MS}\n\n`);
      let quietSince = Date.now();
      while (!stop.signal.aborted) {
        const events = feedEventsAfter(ctx.db, last, EVENT_BATCH, runId);
        for (const event of events) {
          await stream.writeSSE({ id: String(event.id), data: JSON.stringify(event) });
          last = event.id;
        }
        if (events.length === EVENT_BATCH) continue;
        if (events.length > 0) quietSince = Date.now();
        else if (Date.now() - quietSince >= KEEPALIVE_MS) {
          await stream.write(": keepalive\n\n");
          quietSince = Date.now();
        }
        await sleep(ctx.pollMs, stop.signal);
      }
    } finally {
      stop.dispose();
    }
  });
}

/**
 * Streams the log of `run`'s newest attempt as rendered lines (`event: lines`), moving on to the
 * next attempt when one starts (`event: attempt`), until the run has ended and its last log is
 * read (`event: end`). Event ids are `<attempt id>:<byte offset>`; a client resumes with
 * `Last-Event-ID` or `?from=` in that form, and without one starts at the newest attempt's start.
 */
export function logStream(c: Context, ctx: DashboardContext, run: RunRow): Response {
  const position = parsePosition(c.req.header("Last-Event-ID")) ??
    parsePosition(c.req.query("from"));
  return streamSSE(c, async (stream) => {
    const stop = linkAbort(ctx.signal, stream);
    try {
      await stream.write(`retry: ${RETRY_MS}\n\n`);
      let current: AttemptRow | undefined;
      let follower: LogFollower | null = null;
      if (position) {
        const attempt = runAttempt(ctx.db, run.id, position.attemptId);
        if (attempt) {
          current = attempt;
          follower = await followerFor(ctx, attempt, position.offset);
        }
      }
      const switchTo = async (attempt: AttemptRow) => {
        current = attempt;
        follower = await followerFor(ctx, attempt, 0);
        const info: LogAttempt = {
          attempt_id: attempt.id,
          ticket: attempt.ticket,
          number: attempt.number,
          outcome: attempt.outcome,
        };
        await stream.writeSSE({
          event: "attempt",
          id: `${attempt.id}:0`,
          data: JSON.stringify(info),
        });
      };
      let quietSince = Date.now();
      while (!stop.signal.aborted) {
        const latest = latestAttempt(ctx.db, run.id);
        if (!current && latest) await switchTo(latest);
        let sent = false;
        if (current && follower) {
          const f: LogFollower = follower;
          const lines = await f.next();
          for (let i = 0; i < lines.length; i += LINE_BATCH) {
            const batch: LogBatch = {
              attempt_id: current.id,
              lines: lines.slice(i, i + LINE_BATCH),
            };
            await stream.writeSSE({
              event: "lines",
              id: `${current.id}:${f.offset}`,
              data: JSON.stringify(batch),
            });
            sent = true;
          }
        }
        if (!sent) {
          if (latest && current && latest.id !== current.id) {
            await switchTo(latest);
            continue;
          }
          const status = getRun(ctx.db, run.id)?.status;
          if (status !== "running") {
            if (current && follower && (await (follower as LogFollower).next()).length > 0) {
              continue;
            }
            await stream.writeSSE({ event: "end", data: JSON.stringify({ status }) });
            return;
          }
          if (Date.now() - quietSince >= KEEPALIVE_MS) {
            await stream.write(": keepalive\n\n");
            quietSince = Date.now();
          }
        } else quietSince = Date.now();
        await sleep(ctx.pollMs, stop.signal);
      }
    } finally {
      stop.dispose();
    }
  });
}

async function followerFor(
  ctx: DashboardContext,
  attempt: AttemptRow,
  offset: number,
): Promise<LogFollower | null> {
  const path = await attemptFile(ctx.project, attempt, "jsonl");
  const stillValid = async () => (await attemptFile(ctx.project, attempt, "jsonl")) === path;
  return path ? new LogFollower(path, offset, stillValid) : null;
}

function digits(value: string | undefined): number | null {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

function parsePosition(value: string | undefined): { attemptId: number; offset: number } | null {
  const match = value ? /^(\d{1,15}):(\d{1,15})$/.exec(value) : null;
  return match ? { attemptId: Number(match[1]), offset: Number(match[2]) } : null;
}

/** An abort signal that fires when the server shuts down or the client disconnects. */
function linkAbort(
  server: AbortSignal,
  stream: { onAbort(listener: () => void): void },
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (server.aborted) abort();
  server.addEventListener("abort", abort);
  stream.onAbort(abort);
  return { signal: controller.signal, dispose: () => server.removeEventListener("abort", abort) };
}

/** Waits `ms`, or less when `signal` aborts; never leaves a timer behind. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
