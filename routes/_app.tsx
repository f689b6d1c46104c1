/**
 * The dashboard as a Hono app. `createApp(...).fetch` is a plain `Request → Response` function:
 * the command serves it with `Deno.serve`, and the tests call it directly without a port. It
 * wires every route, so it sits with them at the top of the dashboard's layers (the leading `_`
 * says it is not a page); src/dashboard/ below it never imports routes/ or islands/.
 */
import { Hono } from "hono";
import { registerOverview } from "./overview.tsx";
import { registerRunPage } from "./run.tsx";
import { registerStopForm } from "./stop.tsx";
import { registerTargetPage } from "./target.tsx";
import { registerEventsApi } from "./api/events.ts";
import { registerLogsApi } from "./api/logs.ts";
import { registerRunsApi } from "./api/runs.ts";
import { registerTargetsApi } from "./api/targets.ts";
import { UserError } from "../src/core/errors.ts";
import { type Asset, ISLANDS_JS, STYLE_CSS } from "../src/dashboard/assets.ts";
import { dashboardContext, type DashboardOptions } from "../src/dashboard/context.ts";
import { renderPage } from "../src/dashboard/layout.tsx";
import { HttpError } from "../src/dashboard/params.ts";
import { security } from "../src/dashboard/security.ts";

export type { DashboardOptions } from "../src/dashboard/context.ts";

/**
 * Builds the dashboard for one project: pages (`/`, `/runs/:id`, `/targets?path=`), the JSON API
 * and event streams under `/api/`, and the embedded `/static/` assets, behind the security checks
 * of security.ts. Errors become JSON (`{ error }`) under `/api/` and a page elsewhere.
 */
export function createApp(options: DashboardOptions): Hono {
  const ctx = dashboardContext(options);
  const app = new Hono();
  app.use("*", security(ctx));

  app.get("/static/islands.js", (c) => serveAsset(c.req.query("v"), ISLANDS_JS));
  app.get("/static/style.css", (c) => serveAsset(c.req.query("v"), STYLE_CSS));

  registerOverview(app, ctx);
  registerRunPage(app, ctx);
  registerTargetPage(app, ctx);
  registerStopForm(app, ctx);
  registerRunsApi(app, ctx);
  registerEventsApi(app, ctx);
  registerLogsApi(app, ctx);
  registerTargetsApi(app, ctx);

  app.notFound((c) => errorResponse(c.req.path, 404, `no such page: ${c.req.path}`, ctx));
  app.onError((error, c) => {
    if (error instanceof HttpError) {
      return errorResponse(c.req.path, error.status, error.message, ctx);
    }
    if (error instanceof UserError) return errorResponse(c.req.path, 500, error.message, ctx);
    console.error(`dashboard: ${c.req.method} ${c.req.path}: ${error.stack ?? error}`);
    return errorResponse(c.req.path, 500, `internal error: ${error.message}`, ctx);
  });
  return app;
}

function serveAsset(version: string | undefined, asset: Asset): Response {
  return new Response(asset.body, {
    headers: {
      "Content-Type": asset.type,
      "ETag": `"${asset.hash}"`,
      "Cache-Control": version === asset.hash ? "public, max-age=31536000, immutable" : "no-cache",
    },
  });
}

const TITLES: Record<number, string> = {
  400: "Bad request",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  500: "Error",
};

function errorResponse(
  path: string,
  status: number,
  message: string,
  ctx: ReturnType<typeof dashboardContext>,
): Response {
  if (path.startsWith("/api/")) {
    return Response.json({ error: message }, { status });
  }
  const title = TITLES[status] ?? "Error";
  const html = renderPage(
    { title, project: ctx.project.root, token: ctx.token },
    <>
      <h1>{title}</h1>
      <p class="sub">{message}</p>
      <p>
        <a href="/">Back to the overview</a>
      </p>
    </>,
  );
  return new Response(html, { status, headers: { "Content-Type": "text/html; charset=utf-8" } });
}
