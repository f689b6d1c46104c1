import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { baseName, formatTokens } from "../src/dashboard/format.ts";
import type { ActiveRunView } from "../src/dashboard/views.ts";
import { Elapsed } from "./elapsed.tsx";
import { subscribeEvents } from "./live.ts";
import { StopButton } from "./stop_button.tsx";

export interface ActiveRunsProps {
  runs: ActiveRunView[];
  token: string;
  /** The newest event id when the page was rendered. */
  after: number;
}

/**
 * One card per running run. Any new event refreshes the cards from `/api/active` (a run started,
 * moved to its next ticket or ended), so the section stays current without a reload.
 */
export function ActiveRuns(props: ActiveRunsProps) {
  const runs = useSignal(props.runs);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refresh = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        try {
          const response = await fetch("/api/active");
          if (response.ok) runs.value = (await response.json()).runs;
        } catch { /* the next event retries */ }
      }, 150);
    };
    const off = subscribeEvents(props.after, refresh);
    return () => {
      off();
      clearTimeout(timer);
    };
  }, []);
  if (runs.value.length === 0) {
    return <div class="panel empty">Nothing is running.</div>;
  }
  return (
    <div class="cards">
      {runs.value.map((run) => <ActiveRunCard key={run.id} run={run} token={props.token} />)}
    </div>
  );
}

function ActiveRunCard({ run, token }: { run: ActiveRunView; token: string }) {
  const progress = run.target_tickets;
  const percent = progress && progress.total > 0
    ? Math.round(100 * progress.done / progress.total)
    : 0;
  return (
    <div class="panel card" data-run-id={run.id}>
      <div class="head">
        <span class="badge run">running</span>
        <a class="name" href={`/targets?path=${encodeURIComponent(run.target)}`} title={run.target}>
          {baseName(run.target)}
        </a>
        <span class="spacer" />
        <a class="nowrap" href={`/runs/${run.id}`}>run #{run.id}</a>
      </div>
      <dl>
        <dt>Branch</dt>
        <dd class="mono">{run.branch ?? "-"}</dd>
        <dt>Ticket</dt>
        <dd>
          <span class="mono">{run.current_ticket ?? "-"}</span>
          {run.ticket_title && <span class="note">{` ${run.ticket_title}`}</span>}
        </dd>
        <dt>Model</dt>
        <dd class="mono">{run.model ?? "default"}</dd>
        <dt>Elapsed</dt>
        <dd>
          <Elapsed start={run.started_at} end={null} />
        </dd>
        <dt>Tickets</dt>
        <dd>
          {progress && progress.total > 0
            ? `${progress.done}/${progress.total} done`
            : <span class="note">no tickets found</span>}
          <span class="note">
            {` · this run: ${run.tickets.done} done, ${run.tickets.failed} failed`}
          </span>
          {progress && progress.total > 0 && (
            <progress max={progress.total} value={progress.done} title={`${percent}%`} />
          )}
        </dd>
        <dt>Tokens</dt>
        <dd>
          {run.tokens.total === 0 ? <span class="note">none reported yet</span> : (
            <>
              {formatTokens(run.tokens.total)}
              <span class="note">
                {` (${formatTokens(run.tokens.input)} in, ${formatTokens(run.tokens.output)} out)`}
              </span>
            </>
          )}
        </dd>
      </dl>
      <div class="foot">
        <StopButton runId={run.id} token={token} />
        <a href={`/runs/${run.id}`}>log and timeline →</a>
      </div>
    </div>
  );
}
