/**
 * Every island by name: the server renders `<div data-island="Name" data-props="…">` around
 * the component's markup, and the browser bundle hydrates each such element with the same
 * component and props.
 */
import { ActiveRuns } from "./active_runs.tsx";
import { Elapsed } from "./elapsed.tsx";
import { EventFeed } from "./event_feed.tsx";
import { LogStream } from "./log_stream.tsx";
import { RunWatcher } from "./run_watcher.tsx";
import { StopButton } from "./stop_button.tsx";

export const ISLANDS = {
  ActiveRuns,
  Elapsed,
  EventFeed,
  LogStream,
  RunWatcher,
  StopButton,
};

export type IslandName = keyof typeof ISLANDS;
