/**
 * Looking at the runs a test started: the project's database read directly (read-only), polling
 * for a state a running broker reaches, and seeding attempt rows for the database-level tests.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { finishAttempt, startAttempt } from "../../src/core/db/attempts.ts";
import type { Database } from "../../src/core/db/database.ts";
import type { AttemptRow, Outcome, RunRow, TokenUsage } from "../../src/core/db/types.ts";
import type { TestProject } from "./project.ts";

/**
 * Rows of `sql` from the project's `.cmcs/cmcs.db`, opened read-only so the test never migrates
 * or writes the database it is checking (a broker may be writing it meanwhile).
 */
export function query<T>(p: TestProject, sql: string, ...params: (string | number)[]): T[] {
  const db = new DatabaseSync(join(p.path, ".cmcs/cmcs.db"), { readOnly: true });
  try {
    return db.prepare(sql).all(...params) as unknown as T[];
  } finally {
    db.close();
  }
}

/** Every attempt of the project, oldest first. */
export const attempts = (p: TestProject): AttemptRow[] =>
  query<AttemptRow>(p, "SELECT * FROM attempts ORDER BY id");

/** Every run of the project, oldest first. */
export const runs = (p: TestProject): RunRow[] =>
  query<RunRow>(p, "SELECT * FROM runs ORDER BY id");

/**
 * Polls `check` every 50 ms until it returns a value other than undefined, null or false (so 0
 * and "" count as values), and returns it; throws naming `what` after `ms`.
 */
export async function until<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (true) {
    const value = await check();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Adds an attempt at `ticket` to run `runId` and, unless `outcome` is null (left open, as a
 * running or orphaned worker leaves it), closes it with that outcome. The exit code defaults to 0
 * for `done` and 1 otherwise. Returns the attempt's id.
 */
export function addAttempt(
  db: Database,
  runId: number,
  ticket: string,
  outcome: Outcome | null,
  opts: { model?: string | null; usage?: TokenUsage | null; exitCode?: number | null } = {},
): number {
  const row = startAttempt(db, {
    runId,
    ticket,
    title: null,
    kind: "first",
    model: opts.model ?? null,
    reasoningEffort: null,
    commitBefore: null,
    logDir: String(runId),
  });
  if (outcome) {
    finishAttempt(db, row.id, {
      outcome,
      message: null,
      exitCode: opts.exitCode !== undefined ? opts.exitCode : outcome === "done" ? 0 : 1,
      signal: null,
      threadId: null,
      usage: opts.usage ?? null,
      finalMessage: null,
      resetsAt: null,
    });
  }
  return row.id;
}
