/** The runs list the overview and a target's page share: one page of runs and its pager. */
import type { Database } from "../core/db/database.ts";
import { countRuns, queryRunSummaries, type RunSummary } from "../core/db/status_query.ts";
import { Pager, RunsTable } from "./components.tsx";
import { paging } from "./params.ts";

/** One page of runs, newest first, as {@link RunsPanel} shows it. */
export interface RunsPanelData {
  runs: RunSummary[];
  /** Runs in the whole list (for the pager). */
  total: number;
  page: number;
  limit: number;
}

/**
 * Reads page `page` (the `?page=` parameter, 1-based; a bad value is a 400) of the runs, `perPage`
 * a page, of `target` or of every target.
 */
export function runsPanelData(
  db: Database,
  opts: { page: string | undefined; perPage: number; target?: string },
): RunsPanelData {
  const { page, limit, offset } = paging(opts.page, undefined, {
    default: opts.perPage,
    max: opts.perPage,
  });
  return {
    runs: queryRunSummaries(db, { target: opts.target, limit, offset }),
    total: countRuns(db, { target: opts.target }),
    page,
    limit,
  };
}

/** The runs panel: the runs table (with a target column unless `showTarget` is false) and a pager. */
export function RunsPanel(
  { data, url, showTarget = true }: { data: RunsPanelData; url: URL; showTarget?: boolean },
) {
  return (
    <section class="panel">
      <RunsTable runs={data.runs} showTarget={showTarget} />
      <Pager
        url={url}
        param="page"
        page={data.page}
        limit={data.limit}
        total={data.total}
        noun="run"
      />
    </section>
  );
}
