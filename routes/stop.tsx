import type { Hono } from "hono";
import { Badge } from "../src/dashboard/components.tsx";
import type { DashboardContext } from "../src/dashboard/context.ts";
import { runFromParam } from "../src/dashboard/data.ts";
import { renderPage } from "../src/dashboard/layout.tsx";
import { TOKEN_FIELD } from "../src/dashboard/security.ts";
import { stopRun } from "../src/core/stop_run.ts";

/** Who a stop from the dashboard is recorded as. */
export const DASHBOARD_STOP_SOURCE = "the dashboard";

/**
 * `POST /runs/:id/stop`: the stop button for browsers without JavaScript. The first post shows a
 * confirmation page; its form (with `confirm=yes`) stops the run and redirects back to the run.
 * The security middleware has already checked the origin and the token.
 */
export function registerStopForm(app: Hono, ctx: DashboardContext): void {
  app.post("/runs/:id/stop", async (c) => {
    const run = runFromParam(ctx, c.req.param("id"));
    const body = await c.req.parseBody();
    const meta = { title: `Stop run #${run.id}`, project: ctx.project.root, token: ctx.token };
    if (run.status !== "running") {
      return c.html(
        renderPage(
          meta,
          <>
            <h1>
              Run #{run.id} <Badge status={run.status} />
            </h1>
            <p>
              This run is not running any more (it ended as {run.status}).{" "}
              <a href={`/runs/${run.id}`}>Back to the run</a>
            </p>
          </>,
        ),
        409,
      );
    }
    if (body.confirm !== "yes") {
      return c.html(renderPage(
        meta,
        <>
          <h1>Stop run #{run.id}?</h1>
          <p>
            Its worker{run.current_ticket ? ` (on ${run.current_ticket})` : ""}{" "}
            and every process it started will be ended, and no further ticket starts.
          </p>
          <form method="post" action={`/runs/${run.id}/stop`}>
            <input type="hidden" name={TOKEN_FIELD} value={ctx.token} />
            <input type="hidden" name="confirm" value="yes" />
            <button type="submit" class="danger">Stop run #{run.id}</button>{" "}
            <a href={`/runs/${run.id}`}>Cancel</a>
          </form>
        </>,
      ));
    }
    await stopRun(ctx.db, ctx.project, run.id, ctx.stopGraceS, DASHBOARD_STOP_SOURCE);
    return c.redirect(`/runs/${run.id}`, 303);
  });
}
