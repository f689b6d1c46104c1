/**
 * The real Codex CLI for the end-to-end suite: `@openai/codex` installed from npm once into a cache
 * directory (about 400 MB, reused across runs), and a throwaway `CODEX_HOME` whose config points
 * Codex at the mock model server on 127.0.0.1 (../shared/codex/README.md §6, §8).
 */
import { join } from "node:path";
import { ensureNpmTool, type ToolInstall } from "../helpers/npm_tool.ts";

/** The Codex CLI releases cmcs is tested against; CI runs the suite once on each. */
export const TESTED_CODEX_VERSIONS = ["0.169.0", "0.171.0"] as const;

/**
 * The releases this run of the suite drives: `$CMCS_TEST_CODEX_VERSION` (one version, or several
 * separated by commas), else every tested release.
 */
export const CODEX_VERSIONS: readonly string[] =
  Deno.env.get("CMCS_TEST_CODEX_VERSION")?.split(",").map((v) => v.trim()).filter((v) => v) ||
  TESTED_CODEX_VERSIONS;

/** The environment variable the mock provider's `env_key` names; any value works. */
export const MOCK_KEY_VAR = "CODEX_MOCK_API_KEY";

export type CodexInstall = ToolInstall;

/**
 * Installs `@openai/codex@<version>` into the test cache (`codex-<version>`, see
 * {@link ensureNpmTool}) unless it is there, and returns its `codex`; never throws.
 */
export function ensureCodex(version: string): Promise<CodexInstall> {
  return ensureNpmTool({
    pkg: "@openai/codex",
    version,
    bin: "codex",
    folder: `codex-${version}`,
    versionOf: (output) => /codex-cli\s+(\S+)/.exec(output)?.[1] ?? null,
  });
}

export interface CodexHome extends AsyncDisposable {
  /** The `CODEX_HOME` directory (config.toml, sessions, logs). */
  path: string;
  /** Environment for cmcs/Codex: `CODEX_HOME` and the mock provider's dummy key. */
  env: Record<string, string>;
}

/**
 * A throwaway `CODEX_HOME` whose config.toml uses the mock at `baseUrl` (`http://127.0.0.1:PORT/v1`)
 * as the model provider, with Codex's own retries off (a failure test fails at once), no update
 * check, no analytics and the `plugins` feature off (with it on, Codex resolves GitHub and ChatGPT
 * host names at start-up; off, it talks to 127.0.0.1 only).
 */
export async function codexHome(baseUrl: string): Promise<CodexHome> {
  const path = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmcs-codex-home-" }));
  const config = `model = "mock-model"
model_provider = "codex_mock"
check_for_update_on_startup = false

[analytics]
enabled = false

[model_providers.codex_mock]
name = "mock (loopback)"
base_url = "${baseUrl}"
wire_api = "responses"
env_key = "${MOCK_KEY_VAR}"
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 300000

[features]
plugins = false
shell_snapshot = true
`;
  await Deno.writeTextFile(join(path, "config.toml"), config);
  return {
    path,
    env: { CODEX_HOME: path, [MOCK_KEY_VAR]: "dummy-key-for-the-mock" },
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}
