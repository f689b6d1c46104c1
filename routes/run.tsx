import type { Hono } from "hono";
import { runAttempts } from "../src/core/db/attempts.ts";
import { latestEventId } from "../src/core/db/event_feed.ts";
import { getWorktree } from "../src/core/db/worktrees.ts";
import type { AttemptRow, RunRow } from "../src/core/db/types.ts";
import { Badge, TargetLink, Time } from "../src/dashboard/components.tsx";
import type { DashboardContext } from "../src/dashboard/context.ts";
import { runFromParam, type RunTicket, runTickets } from "../src/dashboard/data.ts";
import type { TicketDiff } from "../src/dashboard/diff.ts";
import { EventsPanel, eventsPanelData } from "./_events_panel.tsx";
import { formatDuration, formatTokens, shortCommit } from "../src/dashboard/format.ts";
import { Island } from "../islands/island.tsx";
import { renderPage } from "../src/dashboard/layout.tsx";
import { attemptFile, readLogTail } from "../src/dashboard/logs.ts";
import { attemptView, runSummary } from "../src/dashboard/queries.ts";
import { ReviewBadge } from "../src/dashboard/review_panel.tsx";

/** Rendered log lines the run page starts with (the live stream adds to them). */
export const LOG_LINES = 200;
/** Events per page on the run page. */
export const RUN_EVENTS_PER_PAGE = 50;

/**
 * `GET /runs/:id`: the run's facts, its ticket timeline (every attempt with outcome, duration,
 * tokens and commits), the current attempt's log streaming live, each ticket's final message,
 * files and diff as `cmcs result` and `cmcs diff` show them, and the run's events.
 */
export function registerRunPage(app: Hono, ctx: DashboardContext): void {
  app.get("/runs/:id", async (c) => {
    const url = new URL(c.req.url);
    const run = runFromParam(ctx, c.req.param("id"));
    const summary = runSummary(ctx.db, run)!;
    const attempts = runAttempts(ctx.db, run.id);
    const current = attempts.at(-1);
    const running = run.status === "running";
    const log = await readLogTail(
      current ? await attemptFile(ctx.project, current, "jsonl") : null,
      { maxLines: LOG_LINES },
    );
    const groups = await runTickets(ctx, run, attempts);
    const after = latestEventId(ctx.db);
    const events = eventsPanelData(ctx.db, {
      page: c.req.query("events_page"),
      perPage: RUN_EVENTS_PER_PAGE,
      after,
      runId: run.id,
    });
    const branch = summary.branch ?? getWorktree(ctx.db, run.worktree)?.branch ?? null;

    return c.html(renderPage(
      { title: `Run #${run.id}`, project: ctx.project.root, token: ctx.token },
      <>
        <div class="title-row">
          <h1>
            Run #{run.id} <Badge status={run.status} />
          </h1>
          {running && <Island name="StopButton" props={{ runId: run.id, token: ctx.token }} />}
        </div>
        <p class="sub">
          <TargetLink path={run.worktree} /> <span class="mono">{run.worktree}</span>
          {branch && <span class="mono">{` · ${branch}`}</span>}
        </p>
        <Island name="RunWatcher" props={{ runId: run.id, after }} />
        <section class="panel facts">
          <Fact label="Started (UTC)">
            <Time iso={run.started_at} />
          </Fact>
          <Fact label={running ? "Elapsed" : "Duration"}>
            <Island
              name="Elapsed"
              inline
              props={{ start: run.started_at, end: running ? null : run.finished_at }}
            />
          </Fact>
          {running && <Fact label="Current ticket">{run.current_ticket ?? "-"}</Fact>}
          <Fact label="Tickets">
            {`${summary.tickets.done} done · ${summary.tickets.failed} failed · ${summary.tickets.started} attempted`}
          </Fact>
          <Fact label="Tokens">
            {summary.tokens.total === 0
              ? "none reported yet"
              : `${formatTokens(summary.tokens.input)} in (${
                formatTokens(summary.tokens.cached_input)
              } cached) · ${formatTokens(summary.tokens.output)} out`}
          </Fact>
          {running && run.broker_pid !== null && (
            <Fact label="Broker pid">{String(run.broker_pid)}</Fact>
          )}
          {run.message && <Fact label="Message">{run.message}</Fact>}
        </section>

        <h2 id="timeline">
          Timeline{" "}
          <span class="count">
            {attempts.length} attempt{attempts.length === 1 ? "" : "s"}
          </span>
        </h2>
        <section class="panel">
          <Timeline attempts={attempts} />
        </section>

        <h2 id="log">
          {running ? "Live log" : "Log of the last attempt"}
        </h2>
        <Island
          name="LogStream"
          props={{
            runId: run.id,
            attempt: current
              ? {
                attempt_id: current.id,
                ticket: current.ticket,
                number: current.number,
                outcome: current.outcome,
              }
              : null,
            lines: log.lines,
            offset: log.offset,
            live: running,
            truncated: log.truncated,
          }}
        />

        <h2 id="tickets">
          Tickets <span class="count">{groups.length}</span>
        </h2>
        {groups.length === 0 && <div class="panel empty">No ticket was attempted yet.</div>}
        {groups.map((group) => (
          <TicketSection
            key={group.ticket}
            run={run}
            group={group}
          />
        ))}

        <h2 id="events">
          Events <span class="count">newest first</span>
        </h2>
        <EventsPanel data={events} url={url} live={running} />
      </>,
    ));
  });
}

function Fact({ label, children }: { label: string; children: preact.ComponentChildren }) {
  return (
    <div>
      <span class="k">{label}</span>
      <span class="v">{children}</span>
    </div>
  );
}

function Timeline({ attempts }: { attempts: AttemptRow[] }) {
  if (attempts.length === 0) return <div class="empty">No attempts yet.</div>;
  return (
    <div class="scroll">
      <table class="timeline">
        <thead>
          <tr>
            <th>Ticket</th>
            <th>Attempt</th>
            <th>Model</th>
            <th>Started (UTC)</th>
            <th class="num">Duration</th>
            <th>Outcome</th>
            <th class="num">Tokens in/out</th>
            <th>Commits</th>
            <th>Message</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((a) => {
            const view = attemptView(a);
            return (
              <tr key={a.id} data-attempt-id={a.id}>
                <td class="nowrap">
                  <a class="mono" href={`#ticket-${a.ticket}`}>{a.ticket}</a>
                  {a.title && <div class="note">{a.title}</div>}
                </td>
                <td class="nowrap">
                  {a.number} <span class="note">{a.kind}</span>
                </td>
                <td class="mono nowrap">
                  {a.model ?? "default"}
                  {a.reasoning_effort && <span class="note">{` ${a.reasoning_effort}`}</span>}
                </td>
                <td>
                  <Time iso={a.started_at} />
                </td>
                <td class="num">
                  {a.outcome === null
                    ? <Island name="Elapsed" inline props={{ start: a.started_at, end: null }} />
                    : formatDuration(a.duration_s)}
                </td>
                <td>
                  <Badge status={a.outcome} />
                  {a.exit_code !== null && <span class="note">{` exit ${a.exit_code}`}</span>}
                </td>
                <td class="num">
                  {formatTokens(a.input_tokens)} / {formatTokens(a.output_tokens)}
                </td>
                <td class="mono nowrap">
                  {a.commit_after && a.commit_after !== a.commit_before
                    ? `${shortCommit(a.commit_before)}..${shortCommit(a.commit_after)}`
                    : shortCommit(a.commit_before)}
                  {view.files_changed.length > 0 && (
                    <div class="note">{view.files_changed.length} files</div>
                  )}
                </td>
                <td class="msg">
                  {a.message ?? ""}
                  {view.warnings.map((w, i) => <div key={i} class="error-text">{w}</div>)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** One ticket of the run, with its review state. */
function TicketSection({ run, group }: { run: RunRow; group: RunTicket }) {
  const { work, diff } = group;
  const count = work.attempts.length;
  const finalMessage = work.attempts.findLast((a) => a.final_message)?.final_message ?? null;
  const uncommitted = new Set(work.span.overlay);
  const inProgress = work.outcome === null && run.status === "running";
  const earlier = count - group.inRun.length;
  const t = work.tokens;
  return (
    <section class="panel ticket" id={`ticket-${group.ticket}`}>
      <div class="head">
        <h3 class="mono">{group.ticket}</h3>
        <span>{work.title ?? ""}</span>
        <Badge status={work.outcome} />
        <ReviewBadge state={work.review} />
        <span class="note">
          {`${count} attempt${count === 1 ? "" : "s"}${
            earlier > 0 ? ` (${earlier} in earlier runs)` : ""
          } · ${inProgress ? "in progress" : formatDuration(work.duration_s)}`}
          {t.total > 0 && (
            <>
              {" · "}
              <span
                class="tokens"
                data-tokens={String(t.total)}
                title={`${t.total} tokens: ${t.input} in (${t.cached_input} cached), ${t.output} out`}
              >
                {`${formatTokens(t.total)} tokens`}
              </span>
            </>
          )}
        </span>
      </div>
      <div class="body">
        <div>
          <div class="note">Final message</div>
          {finalMessage
            ? <pre class="text panel">{finalMessage}</pre>
            : <div class="note">{inProgress ? "(still working)" : "(none)"}</div>}
        </div>
        {work.files.length > 0 && (
          <div>
            <div class="note">
              {count === 1 ? "Files changed" : `Files changed (all ${count} attempts)`}
            </div>
            <ul class="mono files">
              {work.files.map((f) => (
                <li key={f.path} data-path={f.path}>
                  {f.path}
                  {f.added ? <span class="stat-add">{` +${f.added}`}</span> : null}
                  {f.removed ? <span class="stat-del">{` −${f.removed}`}</span> : null}
                  {uncommitted.has(f.path) && <span class="note">{` uncommitted`}</span>}
                </li>
              ))}
            </ul>
          </div>
        )}
        <DiffView diff={diff} inProgress={inProgress} />
      </div>
    </section>
  );
}

function DiffView({ diff, inProgress }: { diff: TicketDiff | null; inProgress: boolean }) {
  if (!diff) {
    return (
      <div class="note">
        {inProgress
          ? "Diff: nothing committed yet."
          : "Diff: nothing committed and nothing left uncommitted by this ticket."}
      </div>
    );
  }
  if (diff.error) return <div class="note error-text">Diff unavailable: {diff.error}</div>;
  const span = `${shortCommit(diff.base)}..${
    diff.uncommitted.length > 0
      ? `${diff.head && diff.head !== diff.base ? `${shortCommit(diff.head)} + ` : ""}working tree`
      : shortCommit(diff.head)
  }`;
  return (
    <details class="diffbox" open={diff.lines.length <= 400}>
      <summary>
        Diff <span class="mono">{span}</span> <span class="stat-add">+{diff.added}</span>{" "}
        <span class="stat-del">−{diff.removed}</span>
        {diff.truncated && <span class="note">(cut: too large to show whole)</span>}
      </summary>
      <div class="diff">
        <pre>
          {diff.lines.map((line, i) => (
            <span key={i} class={`d d-${line.kind}`}>{line.text || " "}</span>
          ))}
        </pre>
      </div>
    </details>
  );
}
