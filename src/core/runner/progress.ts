import type { Outcome, RunStatus } from "../db/types.ts";

/**
 * What a run reports while it goes, for whoever is watching (the `run` command's terminal or pipe
 * output, or a live multi-target view). The database gets the same facts as events.
 */
export type Progress =
  | { kind: "run_started"; runId: number; target: string; pending: number }
  | { kind: "skipped"; runId: number; target: string; ticket: string; agent: string }
  | {
    kind: "attempt_started";
    runId: number;
    target: string;
    ticket: string;
    title: string;
    number: number;
    attemptKind: string;
    model: string | null;
    effort: string | null;
  }
  | {
    kind: "attempt_finished";
    runId: number;
    target: string;
    ticket: string;
    outcome: Outcome;
    message: string | null;
    durationS: number;
    tokens: number | null;
    commit: string | null;
    warnings: string[];
  }
  | {
    kind: "retry";
    runId: number;
    target: string;
    ticket: string;
    reason: string;
    delayS: number;
    model: string | null;
  }
  | { kind: "warning"; runId: number; target: string; ticket: string; message: string }
  | {
    /** Once per ticket a run acted on, after its last attempt (or its problem, if malformed). */
    kind: "ticket_finished";
    runId: number;
    target: string;
    ticket: string;
    /** Absolute path of the ticket file. */
    file: string;
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
  };

export type ProgressSink = (progress: Progress) => void;
