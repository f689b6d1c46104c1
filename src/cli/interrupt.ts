/**
 * Ctrl-C, SIGTERM and SIGHUP as an AbortSignal, for a command that runs an external step in a
 * session of its own (a worktree `setup` or `archive` command). Such a step is out of reach of the
 * terminal's Ctrl-C, so if the signal simply ended cmcs the step would run on, orphaned; with the
 * listeners in place cmcs ends the step's process group itself, finishes what it was doing (so
 * the database and git stay in step) and the command exits 130.
 */
const SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

export interface Interrupt extends Disposable {
  /** Aborted at the first of the signals. */
  readonly signal: AbortSignal;
}

/** Listens for the signals until disposed (`using interrupt = listenForInterrupt()`). */
export function listenForInterrupt(): Interrupt {
  const controller = new AbortController();
  const listener = () => controller.abort();
  const added: Deno.Signal[] = [];
  for (const name of SIGNALS) {
    try {
      Deno.addSignalListener(name, listener);
      added.push(name);
    } catch { /* not supported on this platform */ }
  }
  return {
    signal: controller.signal,
    [Symbol.dispose]() {
      for (const name of added) Deno.removeSignalListener(name, listener);
    },
  };
}
