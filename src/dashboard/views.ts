/**
 * Shapes the dashboard sends to the browser (JSON API, server-sent events, island props). Field
 * names are snake_case like the CLI's `--json` output.
 */
import type { FeedEvent } from "../core/db/event_feed.ts";
import type { RunSummary } from "../core/db/status_query.ts";

/** An event row with the target of its run, so a feed can name it without another lookup. */
export type EventView = FeedEvent;

/** A running run as the overview shows it: the status summary plus what its worker is doing. */
export interface ActiveRunView extends RunSummary {
  /** Model of the current (newest) attempt. */
  model: string | null;
  /** Title of the current ticket, from its newest attempt. */
  ticket_title: string | null;
  /** Codex tickets of the target marked done, and how many there are; null when unreadable. */
  target_tickets: { done: number; total: number } | null;
}

/** One rendered log batch sent by the log stream. */
export interface LogBatch {
  attempt_id: number;
  lines: string[];
}

/** The attempt a log stream is showing. */
export interface LogAttempt {
  attempt_id: number;
  ticket: string;
  number: number;
  outcome: string | null;
}
