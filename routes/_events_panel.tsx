/** The events list the overview and a run page share: one page of events and its pager. */
import type { Database } from "../src/core/db/database.ts";
import { countEvents, eventPage } from "../src/core/db/event_feed.ts";
import { Pager } from "../src/dashboard/components.tsx";
import { Island } from "../islands/island.tsx";
import { paging } from "../src/dashboard/params.ts";
import type { EventView } from "../src/dashboard/views.ts";

/** One page of events, newest first, as {@link EventsPanel} shows it. */
export interface EventsPanelData {
  events: EventView[];
  /** Events in the whole list (for the pager). */
  total: number;
  page: number;
  limit: number;
  /** The newest event id when the page was rendered: the list stops there, live events follow. */
  after: number;
  /** Only the events of this run, or every run's. */
  runId: number | null;
}

/**
 * Reads page `page` (the `?events_page=` parameter, 1-based; a bad value is a 400) of the events
 * up to `after`, `perPage` a page, of run `runId` or of all runs.
 */
export function eventsPanelData(
  db: Database,
  opts: { page: string | undefined; perPage: number; after: number; runId: number | null },
): EventsPanelData {
  const { page, limit, offset } = paging(opts.page, undefined, {
    default: opts.perPage,
    max: opts.perPage,
  }, "events_page");
  const filter = { runId: opts.runId ?? undefined, maxId: opts.after };
  return {
    events: eventPage(db, { ...filter, limit, offset }),
    total: countEvents(db, filter),
    page,
    limit,
    after: opts.after,
    runId: opts.runId,
  };
}

/**
 * The events panel: the live event feed and a pager linking the other pages of `url`. Only the
 * first page grows with new events, and only when `live` (more can still be recorded).
 */
export function EventsPanel(
  { data, url, live }: { data: EventsPanelData; url: URL; live: boolean },
) {
  return (
    <section class="panel">
      <Island
        name="EventFeed"
        props={{
          events: data.events,
          after: data.after,
          runId: data.runId,
          live: data.page === 1 && live,
          limit: data.limit,
        }}
      />
      <Pager
        url={url}
        param="events_page"
        page={data.page}
        limit={data.limit}
        total={data.total}
        noun="event"
      />
    </section>
  );
}
