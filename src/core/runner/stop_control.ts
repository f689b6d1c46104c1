import { timerDelay } from "../time.ts";

/** Why a worker is being ended before it finished on its own. */
export type StopReason = "stopped" | "timeout_total" | "timeout_idle";

/**
 * A one-shot stop request shared by everything working for one run: the broker's signal
 * handlers, the poll of the run's `stop_requested_at`, and the attempt's own timeouts all end up
 * here, and whoever is waiting (a worker, a retry backoff) reacts at once.
 */
export class StopController {
  #reason: StopReason | null = null;
  #message: string | null = null;
  #listeners = new Set<() => void>();
  #abort = new AbortController();

  get reason(): StopReason | null {
    return this.#reason;
  }

  get message(): string | null {
    return this.#message;
  }

  get stopped(): boolean {
    return this.#reason !== null;
  }

  /** Aborted when a stop is requested: hands the stop to a step such as a commit's git calls. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Requests a stop; the first reason wins. */
  request(reason: StopReason, message: string): void {
    if (this.#reason) return;
    this.#reason = reason;
    this.#message = message;
    this.#abort.abort();
    for (const listener of [...this.#listeners]) listener();
  }

  /** Calls `listener` once when a stop is requested (at once if it already was); returns an unsubscribe. */
  onStop(listener: () => void): () => void {
    if (this.#reason) {
      listener();
      return () => {};
    }
    const once = () => {
      this.#listeners.delete(once);
      listener();
    };
    this.#listeners.add(once);
    return () => this.#listeners.delete(once);
  }

  /** Sleeps `ms`, returning early with true if a stop is requested meanwhile. */
  sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      let off = () => {};
      const timer = setTimeout(() => {
        off();
        resolve(false);
      }, timerDelay(ms));
      off = this.onStop(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
