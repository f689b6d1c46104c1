/**
 * Fault injection for the crash tests (tests/fault_crash_test.ts): with `CMCS_TEST_CRASH_AT` set to
 * one of the {@link CrashStep}s, the broker SIGKILLs itself when it reaches that step of an
 * attempt, as a power cut or an OOM kill would, so the tests can check that recovery leaves the
 * database, git and the ticket files in agreement. The variable is read once; unset (always, for
 * users) each point is one comparison.
 */

/** The steps of an attempt where a broker can be made to die, in the order they are reached. */
export const CRASH_STEPS = [
  /** The attempt row is open; no worker yet. */
  "before-spawn",
  /** The worker has its prompt and has started its turn (its first event arrived). */
  "worker-running",
  /** The worker has exited; its outcome is not recorded yet. */
  "after-worker",
  /** The outcome and the commit about to be made are recorded; git has not been asked yet. */
  "before-commit",
  /** git made the commit; the database does not know it yet. */
  "after-commit",
] as const;

export type CrashStep = typeof CRASH_STEPS[number];

const CRASH_VAR = "CMCS_TEST_CRASH_AT";

const crashAt: string | undefined = (() => {
  try {
    return Deno.env.get(CRASH_VAR);
  } catch {
    return undefined; // not among the permitted variables: never set
  }
})();

/** Kills this process outright, with no cleanup at all, when `CMCS_TEST_CRASH_AT` names `step`. */
export function crashPoint(step: CrashStep): void {
  if (crashAt === step) Deno.kill(Deno.pid, "SIGKILL");
}
