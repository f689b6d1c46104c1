import { basename } from "../path.ts";
import type { Database } from "../db/database.ts";
import { type NewEvent, recordEvent } from "../db/events.ts";
import type { Fact, FactSink } from "./journal.ts";

/**
 * The journal's database subscriber: each fact that has an `events` row becomes that row (the
 * audit log and the dashboard's live feed). Facts only a terminal needs (`ticket_finished` of an
 * attempted ticket) have none; a `run_finished` whose run was left to recovery has none either.
 */
export function databaseWriter(db: Database): FactSink {
  return (fact) => {
    const event = eventOf(fact);
    if (!event) return;
    if (fact.kind !== "run_finished") {
      recordEvent(db, event);
      return;
    }
    try {
      recordEvent(db, event);
    } catch { /* the database is what failed: recovery ends the run once this broker is gone */ }
  };
}

/** The `events` row of a fact, or null. Exported for the tests of the mapping. */
export function eventOf(fact: Fact): NewEvent | null {
  const runId = fact.runId;
  switch (fact.kind) {
    case "run_started":
      return { runId, event: "run_started", message: fact.target };
    case "skipped":
      return { runId, event: "skipped", ticket: fact.file, message: `agent: ${fact.agent}` };
    case "attempt_started":
      return {
        runId,
        event: "started",
        ticket: fact.file,
        model: fact.model,
        attemptId: fact.attemptId,
      };
    case "warning":
      return {
        runId,
        event: "warning",
        ticket: fact.file,
        attemptId: fact.attemptId,
        message: fact.message,
      };
    case "committed":
      return {
        runId,
        event: "committed",
        ticket: fact.file,
        attemptId: fact.attemptId,
        message: fact.commit,
      };
    case "attempt_finished":
      return {
        runId,
        event: fact.outcome === "done" ? "completed" : "failed",
        ticket: fact.file,
        model: fact.model,
        attemptId: fact.attemptId,
        exitCode: fact.exitCode,
        durationS: fact.durationS,
        outcome: fact.outcome,
        message: fact.message,
      };
    case "retry":
      return { runId, event: "retry", ticket: fact.file, model: fact.model, message: fact.reason };
    case "ticket_finished":
      return fact.attempts > 0 ? null : {
        runId,
        event: "failed",
        ticket: basename(fact.path),
        outcome: fact.outcome,
        message: fact.message,
      };
    case "run_finished":
      return fact.recorded
        ? { runId, event: "run_finished", outcome: fact.status, message: fact.message }
        : null;
  }
}
