import assert from "node:assert/strict";
import { type CliResult, cmcsEntry, PERMISSION_FLAGS } from "./cli.ts";

/** A `cmcs dashboard` process serving on a port of its own choosing. */
export interface ServedDashboard extends AsyncDisposable {
  /** The address it printed, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  /**
   * Ends it with Ctrl-C (SIGINT) and returns its exit code and everything it printed; calling it
   * again returns the same result. Disposing calls it too and asserts the exit was clean.
   */
  stop(): Promise<CliResult>;
}

/**
 * Starts `cmcs dashboard --port 0 ...args` in `cwd` under the documented permissions and waits for
 * the URL it prints. Throws with its output when it exits before serving (a bad flag, a busy
 * port).
 */
export async function serveDashboard(
  cwd: string,
  opts: { args?: string[]; env?: Record<string, string> } = {},
): Promise<ServedDashboard> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...PERMISSION_FLAGS,
      cmcsEntry(),
      "dashboard",
      "--port",
      "0",
      ...(opts.args ?? []),
    ],
    cwd,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let stdout = "";
  let url: string | undefined;
  while (!url) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      throw new Error(`cmcs dashboard exited before serving: ${stdout}${await stderr}`);
    }
    stdout += decoder.decode(value, { stream: true });
    url = /(http:\/\/\S+:\d+\/)/.exec(stdout)?.[1];
  }
  const drained = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      stdout += decoder.decode(value, { stream: true });
    }
  })();
  let stopped: Promise<CliResult> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGINT");
      } catch { /* already gone */ }
      const status = await child.status;
      await drained;
      return { code: status.code, stdout, stderr: await stderr };
    })();
  return {
    url,
    stop,
    async [Symbol.asyncDispose]() {
      assert.equal((await stop()).code, 0, "Ctrl-C ends the dashboard cleanly");
    },
  };
}
