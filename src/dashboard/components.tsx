/** Small server-rendered pieces the pages share. */
import type { RunSummary } from "../core/db/status_query.ts";
import { baseName, clip, formatDuration, formatTime, formatTokens, statusTone } from "./format.ts";
import { pageCount } from "./params.ts";

export function Badge({ status }: { status: string | null | undefined }) {
  const text = status ?? "running";
  return <span class={`badge ${statusTone(status ?? "running")}`}>{text}</span>;
}

export function Time({ iso }: { iso: string | null | undefined }) {
  return <span class="mono nowrap" title={iso ?? undefined}>{formatTime(iso)}</span>;
}

/** The URL of a target's page. */
export function targetHref(path: string): string {
  return `/targets?path=${encodeURIComponent(path)}`;
}

export function TargetLink({ path }: { path: string }) {
  return <a href={targetHref(path)} title={path}>{baseName(path)}</a>;
}

/** Runs, newest first, as `cmcs status` lists them. */
export function RunsTable(
  { runs, showTarget = true }: { runs: RunSummary[]; showTarget?: boolean },
) {
  if (runs.length === 0) return <div class="empty">No runs on this page.</div>;
  return (
    <div class="scroll">
      <table class="runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Status</th>
            {showTarget && <th>Target</th>}
            <th>Branch</th>
            <th>Started (UTC)</th>
            <th class="num">Duration</th>
            <th class="num">Done</th>
            <th class="num">Failed</th>
            <th class="num">Tokens</th>
            <th>Message</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} data-run-id={run.id}>
              <td class="nowrap">
                <a href={`/runs/${run.id}`}>#{run.id}</a>
              </td>
              <td>
                <Badge status={run.status} />
              </td>
              {showTarget && (
                <td class="nowrap">
                  <TargetLink path={run.target} />
                </td>
              )}
              <td class="mono nowrap">{run.branch ?? "-"}</td>
              <td>
                <Time iso={run.started_at} />
              </td>
              <td class="num">{formatDuration(run.duration_s)}</td>
              <td class="num">{run.tickets.done}/{run.tickets.started}</td>
              <td class="num">{run.tickets.failed}</td>
              <td class="num" title={`${run.tokens.input} in, ${run.tokens.output} out`}>
                {formatTokens(run.tokens.total)}
              </td>
              <td class="msg">
                {run.current_ticket ? `on ${run.current_ticket}` : clip(run.message, 140)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Previous/next links for a paginated list of `total` items, `limit` a page, on page `page`. The
 * links are `url` with query parameter `param` set to the page (the page's other parameters kept).
 */
export function Pager(
  { url, param, page, limit, total, noun }: {
    url: URL;
    param: string;
    page: number;
    limit: number;
    total: number;
    noun: string;
  },
) {
  const pages = pageCount(total, limit);
  const href = (p: number) => withParam(url, param, p);
  return (
    <div class="pager">
      <span>
        {total} {noun}
        {total === 1 ? "" : "s"} · page {page} of {pages}
      </span>
      <span class="spacer" />
      {page > 1 ? <a href={href(1)}>« newest</a> : <span />}
      {page > 1 ? <a href={href(Math.min(page - 1, pages))}>‹ newer</a> : <span />}
      {page < pages ? <a href={href(page + 1)}>older ›</a> : <span />}
    </div>
  );
}

/** `url` with query parameter `name` set to `value` (1 removes it), the others kept. */
function withParam(url: URL, name: string, value: number): string {
  const params = new URLSearchParams(url.search);
  if (value <= 1) params.delete(name);
  else params.set(name, String(value));
  const query = params.toString();
  return `${url.pathname}${query ? `?${query}` : ""}`;
}
