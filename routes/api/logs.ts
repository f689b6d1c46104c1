import type { Hono } from "hono";
import { attemptLogJson } from "../../src/core/attempt_log.ts";
import { getAttempt, latestAttempt } from "../../src/core/db/attempts.ts";
import type { DashboardContext } from "../../src/dashboard/context.ts";
import { runFromParam } from "../../src/dashboard/data.ts";
import { attemptFile, MAX_LOG_LINES, readLogTail } from "../../src/dashboard/logs.ts";
import { flag } from "./runs.ts";
import { HttpError, idParam, intParam } from "../../src/dashboard/params.ts";
import { logStream } from "../../src/dashboard/sse.ts";

/**
 * The logs API:
 * - `GET /api/runs/:id/logs?attempt=&lines=&raw=1` → the shape of `cmcs logs --json`: `{ run_id,
 *   ticket, attempt, attempt_id, outcome, log_file, lines, truncated }` — the last `lines`
 *   (default 200, at most 2000) rendered lines of the attempt (default: the run's newest), or the
 *   raw JSONL lines with `raw=1`, read from a bounded tail of the file.
 * - `GET /api/runs/:id/logs/stream?from=<attempt>:<offset>` → server-sent events (see sse.ts).
 */
export function registerLogsApi(app: Hono, ctx: DashboardContext): void {
  app.get("/api/runs/:id/logs", async (c) => {
    const run = runFromParam(ctx, c.req.param("id"));
    const attemptParam = c.req.query("attempt");
    const lines = intParam(c.req.query("lines"), "lines", {
      min: 1,
      max: MAX_LOG_LINES,
      fallback: 200,
    });
    const raw = flag(c.req.query("raw"));
    let attempt;
    if (attemptParam) {
      const id = idParam(attemptParam, "attempt id");
      attempt = id > 0 ? getAttempt(ctx.db, id) : undefined;
      if (!attempt || attempt.run_id !== run.id) {
        throw new HttpError(404, `run ${run.id} has no attempt with id ${attemptParam}`);
      }
    } else {
      attempt = latestAttempt(ctx.db, run.id);
      if (!attempt) throw new HttpError(404, `run ${run.id} has no attempts yet`);
    }
    const file = await attemptFile(ctx.project, attempt, "jsonl");
    if (!file) throw new HttpError(404, `the log directory of attempt ${attempt.id} is not valid`);
    const tail = await readLogTail(file, { maxLines: lines, raw });
    return c.json(attemptLogJson(attempt, file, tail));
  });

  app.get("/api/runs/:id/logs/stream", (c) => {
    const run = runFromParam(ctx, c.req.param("id"));
    return logStream(c, ctx, run);
  });
}
