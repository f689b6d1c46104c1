import type { Hono } from "hono";
import { runAttempts } from "../../src/core/db/attempts.ts";
import { countRuns, queryRunSummaries } from "../../src/core/db/status_query.ts";
import { NoSuchRunError, RunNotRunningError, stopRun } from "../../src/core/stop_run.ts";
import type { DashboardContext } from "../../src/dashboard/context.ts";
import { activeRuns, runFromParam, runTicketJson, runTickets } from "../../src/dashboard/data.ts";
import { HttpError, pageCount, paging } from "../../src/dashboard/params.ts";
import { attemptView, runSummary } from "../../src/dashboard/queries.ts";
import { DASHBOARD_STOP_SOURCE } from "../stop.tsx";

/** Default and largest page size of `/api/runs`. */
export const RUNS_PAGE = { default: 20, max: 200 };

/**
 * The runs API:
 * - `GET /api/runs?page=&limit=&target=&active=1&latest=1` → `{ runs, page, limit, total, pages }`,
 *   newest first; each run exactly as `cmcs status --json` prints it.
 * - `GET /api/active` → `{ runs }`: running runs with `model`, `ticket_title`, `target_tickets`.
 * - `GET /api/runs/:id` → `{ run, attempts, tickets }`: each ticket's work as `cmcs result` judges it.
 * - `POST /api/runs/:id/stop` → what `cmcs stop --json` prints (404 unknown, 409 not running).
 */
export function registerRunsApi(app: Hono, ctx: DashboardContext): void {
  app.get("/api/runs", (c) => {
    const p = paging(c.req.query("page"), c.req.query("limit"), RUNS_PAGE);
    const filter = {
      target: c.req.query("target") || undefined,
      active: flag(c.req.query("active")),
      latest: flag(c.req.query("latest")),
    };
    const total = countRuns(ctx.db, filter);
    const runs = queryRunSummaries(ctx.db, { ...filter, limit: p.limit, offset: p.offset });
    return c.json({ runs, page: p.page, limit: p.limit, total, pages: pageCount(total, p.limit) });
  });

  app.get("/api/active", async (c) => c.json({ runs: await activeRuns(ctx) }));

  app.get("/api/runs/:id", async (c) => {
    const run = runFromParam(ctx, c.req.param("id"));
    const attempts = runAttempts(ctx.db, run.id);
    return c.json({
      run: runSummary(ctx.db, run),
      attempts: attempts.map(attemptView),
      tickets: (await runTickets(ctx, run, attempts)).map(runTicketJson),
    });
  });

  app.post("/api/runs/:id/stop", async (c) => {
    const run = runFromParam(ctx, c.req.param("id"));
    try {
      return c.json(
        await stopRun(ctx.db, ctx.project, run.id, ctx.stopGraceS, DASHBOARD_STOP_SOURCE),
      );
    } catch (error) {
      if (error instanceof NoSuchRunError) throw new HttpError(404, error.message);
      if (error instanceof RunNotRunningError) throw new HttpError(409, error.message);
      throw error;
    }
  });
}

/** `1`/`true` → true; absent, empty, `0`/`false` → false; anything else is a 400. */
export function flag(value: string | undefined): boolean {
  if (value === undefined || value === "" || value === "0" || value === "false") return false;
  if (value === "1" || value === "true") return true;
  throw new HttpError(400, `expected 1 or 0, got "${value.slice(0, 40)}"`);
}
