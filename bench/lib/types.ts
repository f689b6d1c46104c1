/** What every benchmark section returns and how a run is sized. */

/** One line of the results table. */
export interface Row {
  measure: string;
  /** The floor measured beside it, as text (or "—"). */
  floor: string;
  result: string;
  target: string;
  /** Null when there is no target (reported only). */
  met: boolean | null;
  /** The numbers behind the text, for results.json (ms unless the name says otherwise). */
  values: Record<string, number | string | boolean | null>;
}

export interface Section {
  rows: Row[];
  /** Raw samples and breakdowns for results.json. */
  details: Record<string, unknown>;
}

/** Sizes and repetition counts of one benchmark run. */
export interface Settings {
  quick: boolean;
  /** Timed runs of each start-up command. */
  startupReps: number;
  /** Runs in the big history (events are five per run). */
  historyRuns: number;
  /** Timed spawns for the floors and the worker's own time. */
  spawnReps: number;
  /** Tickets in the broker-overhead run. */
  tickets: number;
  /** Timed broker-overhead runs per auto-commit setting. */
  runReps: number;
  /** Targets (the main checkout and worktrees) of the parallel run. */
  targets: number;
  targetTickets: number;
  /** Timed parallel runs (the one-at-a-time floor is run once). */
  parallelReps: number;
  /** Timed requests of each dashboard page. */
  pageReps: number;
  /** Events timed from the database to an SSE client. */
  sseEvents: number;
}

export const FULL: Settings = {
  quick: false,
  startupReps: 15,
  historyRuns: 10_000,
  spawnReps: 40,
  tickets: 50,
  runReps: 5,
  targets: 16,
  targetTickets: 20,
  parallelReps: 2,
  pageReps: 30,
  sseEvents: 20,
};

/** Tiny sizes: proves the benchmark runs end to end (tests/bench_smoke_test.ts). */
export const QUICK: Settings = {
  quick: true,
  startupReps: 2,
  historyRuns: 200,
  spawnReps: 3,
  tickets: 3,
  runReps: 2,
  targets: 2,
  targetTickets: 2,
  parallelReps: 1,
  pageReps: 2,
  sseEvents: 2,
};

export function ms(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)} ms`;
}

export function mib(kib: number | null): string {
  return kib === null ? "n/a" : `${(kib / 1024).toFixed(0)} MiB`;
}
