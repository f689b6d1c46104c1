import type { Hono } from "hono";
import { getWorktree } from "../src/core/db/worktrees.ts";
import type { DashboardContext } from "../src/dashboard/context.ts";
import { targetTickets } from "../src/dashboard/data.ts";
import { baseName } from "../src/dashboard/format.ts";
import { renderPage } from "../src/dashboard/layout.tsx";
import { HttpError } from "../src/dashboard/params.ts";
import { RunsPanel, runsPanelData } from "../src/dashboard/runs_panel.tsx";

/** Runs per page on a target's page. */
export const TARGET_RUNS_PER_PAGE = 20;

/**
 * `GET /targets?path=…`: one repository or worktree — its tickets in run order with their done
 * state and title, and its runs newest first (`?page=`). Only targets the project knows are shown.
 */
export function registerTargetPage(app: Hono, ctx: DashboardContext): void {
  app.get("/targets", async (c) => {
    const url = new URL(c.req.url);
    const path = c.req.query("path") ?? ctx.project.root;
    if (path.length > 4096) throw new HttpError(400, "path is too long");
    const tickets = await targetTickets(ctx, path);
    const runs = runsPanelData(ctx.db, {
      page: c.req.query("page"),
      perPage: TARGET_RUNS_PER_PAGE,
      target: path,
    });
    const worktree = getWorktree(ctx.db, path);
    const done = tickets.tickets.filter((t) => t.done).length;
    return c.html(renderPage(
      { title: baseName(path), project: ctx.project.root, token: ctx.token },
      <>
        <h1>
          {baseName(path)}
          {worktree && (
            <span class={`badge ${worktree.status === "active" ? "ok" : "muted"}`}>
              {worktree.status}
            </span>
          )}
        </h1>
        <p class="sub">
          <span class="mono">{path}</span>
          {worktree && <span class="mono">{` · ${worktree.branch}`}</span>}
        </p>

        <h2 id="tickets">
          Tickets <span class="count">{`${done}/${tickets.tickets.length} done`}</span>
        </h2>
        <section class="panel">
          {tickets.error
            ? <div class="empty error-text">Cannot list the tickets: {tickets.error}</div>
            : tickets.tickets.length === 0
            ? <div class="empty">No tickets in {tickets.tickets_dir}.</div>
            : (
              <div class="scroll">
                <table class="tickets">
                  <thead>
                    <tr>
                      <th class="num">#</th>
                      <th>Done</th>
                      <th>Ticket</th>
                      <th>Title</th>
                      <th>Model</th>
                      <th>Agent</th>
                    </tr>
                  </thead>
                  <tbody>
                    {tickets.tickets.map((t, i) => (
                      <tr key={t.file} data-ticket={t.id}>
                        <td class="num">{i + 1}</td>
                        <td>
                          {t.done
                            ? <span class="done-mark" title="done">✓ done</span>
                            : <span class="todo-mark">{t.ok ? "to do" : "-"}</span>}
                        </td>
                        <td class="mono nowrap">{t.id}</td>
                        <td>
                          {t.ok ? t.title || <span class="note">(no title)</span> : (
                            t.problems.map((p, j) => (
                              <div key={j} class="error-text">
                                {p.line !== null ? `line ${p.line}: ` : ""}
                                {p.message}
                              </div>
                            ))
                          )}
                        </td>
                        <td class="mono nowrap">
                          {t.model ?? "-"}
                          {t.reasoning_effort && (
                            <span class="note">{` ${t.reasoning_effort}`}</span>
                          )}
                        </td>
                        <td class="nowrap">{t.agent ?? "-"}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
        </section>

        <h2 id="runs">
          Runs <span class="count">newest first</span>
        </h2>
        <RunsPanel data={runs} url={url} showTarget={false} />
      </>,
    ));
  });
}
