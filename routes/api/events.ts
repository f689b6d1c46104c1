import type { Hono } from "hono";
import { countEvents, eventPage, latestEventId } from "../../src/core/db/event_feed.ts";
import type { DashboardContext } from "../../src/dashboard/context.ts";
import { runFromParam } from "../../src/dashboard/data.ts";
import { idParam, pageCount, paging } from "../../src/dashboard/params.ts";
import { eventStream } from "../../src/dashboard/sse.ts";

/** Default and largest page size of the event lists. */
export const EVENTS_PAGE = { default: 50, max: 500 };

/**
 * The events API, newest first, each event with its run's `target`:
 * - `GET /api/events?page=&limit=&run=` → `{ events, page, limit, total, pages }`.
 * - `GET /api/runs/:id/events?page=&limit=` → `{ run_id, events, page, limit, total, pages }`.
 * - `GET /api/events/stream?run=&after=` → server-sent events, one per new event, `id:` = its id.
 */
export function registerEventsApi(app: Hono, ctx: DashboardContext): void {
  app.get("/api/events", (c) => {
    const runParam = c.req.query("run");
    const runId = runParam ? runFromParam(ctx, runParam).id : undefined;
    return c.json(eventList(ctx, runId, c.req.query("page"), c.req.query("limit")));
  });

  app.get("/api/runs/:id/events", (c) => {
    const run = runFromParam(ctx, c.req.param("id"));
    return c.json({
      run_id: run.id,
      ...eventList(ctx, run.id, c.req.query("page"), c.req.query("limit")),
    });
  });

  app.get("/api/events/stream", (c) => {
    const runParam = c.req.query("run");
    const runId = runParam ? idParam(runParam) : undefined;
    return eventStream(c, ctx, runId);
  });
}

function eventList(
  ctx: DashboardContext,
  runId: number | undefined,
  page: string | undefined,
  limit: string | undefined,
) {
  const p = paging(page, limit, EVENTS_PAGE);
  const maxId = latestEventId(ctx.db);
  const total = countEvents(ctx.db, { runId, maxId });
  const events = eventPage(ctx.db, { runId, maxId, limit: p.limit, offset: p.offset });
  return { events, page: p.page, limit: p.limit, total, pages: pageCount(total, p.limit) };
}
