import type { Hono } from "hono";
import { listWorktrees } from "../../src/core/db/worktrees.ts";
import type { DashboardContext } from "../../src/dashboard/context.ts";
import { targetTickets } from "../../src/dashboard/data.ts";
import { HttpError } from "../../src/dashboard/params.ts";
import { VERSION } from "../../src/version.ts";

/**
 * Targets and health:
 * - `GET /api/tickets?target=PATH` → `{ target, tickets_dir, tickets, error }`, tickets in run
 *   order as `cmcs ticket validate --json` lists them (default target: the project root; a path
 *   the project does not know is a 404).
 * - `GET /api/worktrees` → `{ worktrees }`: every registered worktree, archived ones included.
 * - `GET /api/health` → `{ status: "ok", version, project }`.
 */
export function registerTargetsApi(app: Hono, ctx: DashboardContext): void {
  app.get("/api/tickets", async (c) => {
    const target = c.req.query("target") || ctx.project.root;
    if (target.length > 4096) throw new HttpError(400, "target is too long");
    return c.json(await targetTickets(ctx, target));
  });

  app.get(
    "/api/worktrees",
    (c) => c.json({ worktrees: listWorktrees(ctx.db, { includeArchived: true }) }),
  );

  app.get(
    "/api/health",
    (c) => c.json({ status: "ok", version: VERSION, project: ctx.project.root }),
  );
}
