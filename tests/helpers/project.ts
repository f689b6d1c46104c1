import { join } from "node:path";
import { stringify } from "yaml";
import { type CliResult, cmcs, PROJECT_DIR } from "./cli.ts";
import { gitIn, tempRepo } from "./repo.ts";

/** The stand-in worker's launcher (behaves like `codex exec --json`). */
export const FAKE_CODEX = join(PROJECT_DIR, "tests/fixtures/fake-codex");

export interface TestProject extends AsyncDisposable {
  path: string;
  /** Per-test state for the stand-in worker (threads, transient-once marks, call record). */
  stateDir: string;
  recordFile: string;
  env: Record<string, string>;
  cmcs(
    args: string[],
    options?: { cwd?: string; env?: Record<string, string>; timeoutMs?: number },
  ): Promise<CliResult>;
  /** Writes `.cmcs/tickets/<name>` with front matter and a body. */
  ticket(name: string, front: Record<string, unknown>, body?: string): Promise<string>;
  /** The stand-in worker's recorded calls, in order. */
  calls(): Promise<Record<string, unknown>[]>;
}

/**
 * A real git repository with cmcs initialized and configured to use the stand-in worker, with
 * short timeouts so failure tests are quick. `codex` overrides merge into the `codex:` section.
 */
export async function testProject(
  codex: Record<string, unknown> = {},
  extraConfig: Record<string, unknown> = {},
): Promise<TestProject> {
  const repo = await tempRepo();
  const stateDir = await Deno.makeTempDir({ prefix: "cmcs-fake-state-" });
  const recordFile = join(stateDir, "calls.jsonl");
  const env = {
    FAKE_CODEX_STATE_DIR: stateDir,
    FAKE_CODEX_RECORD: recordFile,
    DENO_BIN: Deno.execPath(),
  };
  const init = await cmcs(["init"], { cwd: repo.path, env });
  if (init.code !== 0) throw new Error(`cmcs init failed: ${init.stderr}`);
  const config = {
    codex: {
      command: FAKE_CODEX,
      timeout_s: 60,
      idle_timeout_s: 30,
      stop_grace_s: 1,
      retry_backoff_s: 0.1,
      ...codex,
    },
    ...extraConfig,
  };
  await Deno.writeTextFile(join(repo.path, ".cmcs/config.yml"), stringify(config));
  await gitIn(repo.path, "add", "-A");
  await gitIn(repo.path, "commit", "-q", "-m", "cmcs init");
  return {
    path: repo.path,
    stateDir,
    recordFile,
    env,
    cmcs: (args, options = {}) =>
      cmcs(args, {
        cwd: options.cwd ?? repo.path,
        env: { ...env, ...options.env },
        timeoutMs: options.timeoutMs,
      }),
    async ticket(name, front, body = "## Goal\nDo the thing.\n") {
      const path = join(repo.path, ".cmcs/tickets", name);
      await Deno.writeTextFile(path, `---\n${stringify(front)}---\n\n${body}`);
      return path;
    },
    async calls() {
      try {
        return (await Deno.readTextFile(recordFile)).trim().split("\n").filter(Boolean).map((l) =>
          JSON.parse(l)
        );
      } catch {
        return [];
      }
    },
    async [Symbol.asyncDispose]() {
      await repo[Symbol.asyncDispose]();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    },
  };
}
