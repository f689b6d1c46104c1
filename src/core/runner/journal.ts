import type { Outcome, RunStatus } from "../db/types.ts";

/**
 * The runner's journal: every fact a run learns, emitted exactly once, at the moment it becomes
 * true. Whoever needs a fact subscribes instead of the runner telling each of them separately:
 * the database writer ({@link databaseWriter} in journal_events.ts: the `events` rows, which the
 * dashboard's live feed reads), the terminal (progress lines, the live view) and the notification
 * hooks. `ticket` is the ticket's id, `file` its file name (`path` where an absolute path is meant).
 */
export type Fact =
  | { kind: "run_started"; runId: number; target: string; pending: number }
  | { kind: "skipped"; runId: number; target: string; ticket: string; file: string; agent: string }
  | {
    kind: "attempt_started";
    runId: number;
    target: string;
    ticket: string;
    file: string;
    attemptId: number;
    title: string;
    number: number;
    attemptKind: string;
    model: string | null;
    effort: string | null;
  }
  | {
    kind: "warning";
    runId: number;
    target: string;
    ticket: string;
    file: string;
    attemptId: number;
    message: string;
  }
  | {
    /** The auto-commit of a done attempt was made (git has it; the attempt row follows). */
    kind: "committed";
    runId: number;
    target: string;
    ticket: string;
    file: string;
    attemptId: number;
    commit: string;
  }
  | {
    kind: "attempt_finished";
    runId: number;
    target: string;
    ticket: string;
    file: string;
    attemptId: number;
    model: string | null;
    outcome: Outcome;
    message: string | null;
    exitCode: number | null;
    /** Null only when the attempt row has no finish time (it always has one here). */
    durationS: number | null;
    tokens: number | null;
    commit: string | null;
    warnings: string[];
  }
  | {
    kind: "retry";
    runId: number;
    target: string;
    ticket: string;
    file: string;
    reason: string;
    delayS: number;
    model: string | null;
  }
  | {
    /**
     * Once per ticket a run acted on, after its last attempt — or, with `attempts` 0, a ticket the
     * run stopped at without dispatching it (malformed): no attempt says how that one ended.
     */
    kind: "ticket_finished";
    runId: number;
    target: string;
    ticket: string;
    /** Absolute path of the ticket file. */
    path: string;
    outcome: Outcome;
    attempts: number;
    message: string | null;
  }
  | {
    kind: "run_finished";
    runId: number;
    target: string;
    status: RunStatus;
    message: string | null;
    /**
     * The run's row was ended with this status. False when recovery must end it (an attempt
     * left half done, or the database failed): then no `run_finished` event is recorded.
     */
    recorded: boolean;
  };

/** A subscriber: called synchronously, in subscription order, once per fact. */
export type FactSink = (fact: Fact) => void;

/**
 * The emitter. Synchronous on purpose: a fact is in the database before the runner takes its
 * next step, and a subscriber that throws (the database writer, when SQLite fails) stops the
 * runner there as a failed write always did, before later subscribers heard of the fact.
 */
export class Journal {
  #sinks: FactSink[];

  constructor(...sinks: FactSink[]) {
    this.#sinks = sinks;
  }

  emit(fact: Fact): void {
    for (const sink of this.#sinks) sink(fact);
  }
}
