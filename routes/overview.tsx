import type { Hono } from "hono";
import { latestEventId } from "../src/core/db/event_feed.ts";
import { listWorktrees } from "../src/core/db/worktrees.ts";
import { TargetLink, Time } from "../src/dashboard/components.tsx";
import type { DashboardContext } from "../src/dashboard/context.ts";
import { activeRuns } from "../src/dashboard/data.ts";
import { EventsPanel, eventsPanelData } from "./_events_panel.tsx";
import { Island } from "../islands/island.tsx";
import { renderPage } from "../src/dashboard/layout.tsx";
import { ReviewPanel } from "../src/dashboard/review_panel.tsx";
import { RunsPanel, runsPanelData } from "../src/dashboard/runs_panel.tsx";
import { queueCounts, reviewQueue } from "../src/core/review/review_queue.ts";

/** Runs per page of the overview's run list. */
export const RUNS_PER_PAGE = 20;
/** Events per page of the overview's event list. */
export const EVENTS_PER_PAGE = 50;

/**
 * `GET /`: the running runs (live cards), the review queue, recent runs and recent events newest
 * first (`?page=` and `?events_page=`), and the worktrees.
 */
export function registerOverview(app: Hono, ctx: DashboardContext): void {
  app.get("/", async (c) => {
    const url = new URL(c.req.url);
    const runs = runsPanelData(ctx.db, { page: c.req.query("page"), perPage: RUNS_PER_PAGE });
    const after = latestEventId(ctx.db);
    const active = await activeRuns(ctx);
    const events = eventsPanelData(ctx.db, {
      page: c.req.query("events_page"),
      perPage: EVENTS_PER_PAGE,
      after,
      runId: null,
    });
    const worktrees = listWorktrees(ctx.db, { includeArchived: true });
    const queue = reviewQueue(ctx.db);
    const counts = queueCounts(queue);
    return c.html(renderPage(
      { title: "Overview", project: ctx.project.root, token: ctx.token },
      <>
        <h2 id="active">Active runs</h2>
        <Island name="ActiveRuns" props={{ runs: active, token: ctx.token, after }} />

        <h2 id="review">
          Review queue{" "}
          <span class="count" data-awaiting-review={counts.awaiting_review}>
            {`${counts.awaiting_review} awaiting review · ${counts.sent_back} sent back · ${counts.accepted} accepted`}
          </span>
        </h2>
        <ReviewPanel queue={queue} root={ctx.project.root} />

        <h2 id="runs">
          Recent runs <span class="count">newest first</span>
        </h2>
        <RunsPanel data={runs} url={url} />

        <h2 id="events">
          Recent events <span class="count">newest first</span>
        </h2>
        <EventsPanel data={events} url={url} live />

        <h2 id="worktrees">
          Worktrees <span class="count">{worktrees.length}</span>
        </h2>
        <section class="panel">
          {worktrees.length === 0
            ? <div class="empty">No worktrees registered yet.</div>
            : (
              <div class="scroll">
                <table>
                  <thead>
                    <tr>
                      <th>Worktree</th>
                      <th>Branch</th>
                      <th>Status</th>
                      <th>Created (UTC)</th>
                      <th class="num">Port</th>
                      <th>Path</th>
                    </tr>
                  </thead>
                  <tbody>
                    {worktrees.map((w) => (
                      <tr key={w.path}>
                        <td class="nowrap">
                          <TargetLink path={w.path} />
                        </td>
                        <td class="mono nowrap">{w.branch}</td>
                        <td>
                          <span class={`badge ${w.status === "active" ? "ok" : "muted"}`}>
                            {w.status}
                          </span>
                        </td>
                        <td>
                          <Time iso={w.created_at} />
                        </td>
                        <td class="num">{w.port ?? "-"}</td>
                        <td class="mono msg">{w.path}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
        </section>
      </>,
    ));
  });
}
