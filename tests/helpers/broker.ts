/** A real `cmcs run` broker in the background, for tests of what other commands see meanwhile. */
import type { AttemptRow } from "../../src/core/db/types.ts";
import { cmcsEntry, PERMISSION_FLAGS } from "./cli.ts";
import { directive } from "./fake_codex.ts";
import type { TestProject } from "./project.ts";
import { attempts, until } from "./runs.ts";

export interface HangingBroker extends AsyncDisposable {
  broker: Deno.ChildProcess;
  /** The attempt whose worker hangs, once it has started (worker pid and thread recorded). */
  attempt: AttemptRow;
}

/**
 * Writes TICKET-001 with a worker that hangs, starts `cmcs run` on it in a process group of its
 * own and waits until the worker runs. Disposing SIGKILLs the broker (if still alive) and waits
 * for it; the worker is left to the test (recovery is often what it checks).
 */
export async function brokerOnHangingTicket(p: TestProject): Promise<HangingBroker> {
  await p.ticket(
    "TICKET-001.md",
    { title: "Hangs", agent: "codex", done: false },
    directive("hang"),
  );
  const broker = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSION_FLAGS, cmcsEntry(), "run"],
    cwd: p.path,
    env: { NO_COLOR: "1", ...p.env },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  const dispose = async () => {
    try {
      broker.kill("SIGKILL");
    } catch { /* already gone */ }
    await broker.status;
  };
  try {
    const attempt = await until("the worker to start", () => {
      const [first] = attempts(p);
      return first?.worker_pid && first.thread_id ? first : undefined;
    });
    return { broker, attempt, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
