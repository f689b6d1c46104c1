/**
 * The real Codex CLI for the end-to-end suite: `@openai/codex` installed from npm once into a cache
 * directory (about 400 MB, reused across runs), and a throwaway `CODEX_HOME` whose config points
 * Codex at the mock model server on 127.0.0.1 (../shared/codex/README.md §6, §8).
 */
import { join } from "node:path";

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

/** How long an npm install may take before it counts as failed (a hung registry connection). */
const INSTALL_TIMEOUT_MS = 5 * 60_000;

export type CodexInstall =
  | { ok: true; bin: string; dir: string; version: string; installedNow: boolean }
  | { ok: false; reason: string };

/**
 * The cache directory of one release's install, `codex-<version>` under `$CMCS_TEST_CODEX_CACHE`,
 * else under `$XDG_CACHE_HOME/cmcs-test`, else under `~/.cache/cmcs-test`: one folder per release,
 * so the tested releases never overwrite each other.
 */
export function codexCacheDir(version: string): string {
  const base = Deno.env.get("CMCS_TEST_CODEX_CACHE") ||
    join(
      Deno.env.get("XDG_CACHE_HOME") || join(Deno.env.get("HOME") ?? Deno.cwd(), ".cache"),
      "cmcs-test",
    );
  return join(base, `codex-${version}`);
}

/**
 * Installs `@openai/codex@<version>` into the cache unless a complete install is already there,
 * and returns the path of its `node_modules/.bin/codex`. The install goes into a fresh sibling
 * directory that is renamed into place only after `codex --version` answered with the expected
 * version, so an interrupted install is never reused. Never throws: when npm or the registry is
 * unavailable the result says why, in one line.
 */
export async function ensureCodex(version: string): Promise<CodexInstall> {
  const dir = codexCacheDir(version);
  const bin = join(dir, "node_modules", ".bin", "codex");
  const existing = await codexVersion(bin);
  if (existing === version) return { ok: true, bin, dir, version, installedNow: false };

  const parent = join(dir, "..");
  await Deno.mkdir(parent, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: parent, prefix: `.codex-${version}-` });
  try {
    await Deno.writeTextFile(
      join(staging, "package.json"),
      JSON.stringify({ name: "cmcs-test-codex", private: true }) + "\n",
    );
    const npm = await runWithTimeout("npm", [
      "install",
      "--prefix",
      staging,
      "--no-audit",
      "--no-fund",
      "--no-update-notifier",
      "--loglevel=error",
      "--fetch-retries=1",
      "--fetch-retry-mintimeout=2000",
      "--fetch-retry-maxtimeout=5000",
      "--fetch-timeout=30000",
      `@openai/codex@${version}`,
    ], INSTALL_TIMEOUT_MS);
    if (npm.error) return { ok: false, reason: npm.error };
    if (npm.code !== 0) return { ok: false, reason: npmReason(npm.output, npm.code) };
    const stagedBin = join(staging, "node_modules", ".bin", "codex");
    const got = await codexVersion(stagedBin);
    if (got !== version) {
      return {
        ok: false,
        reason: `the installed codex answered ${
          JSON.stringify(got)
        } to --version, expected ${version}`,
      };
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    try {
      await Deno.rename(staging, dir);
    } catch (error) {
      // Another test process installed it at the same moment: use theirs if it is complete.
      if ((await codexVersion(bin)) !== version) {
        return { ok: false, reason: `cannot move the install into ${dir}: ${error}` };
      }
    }
    return { ok: true, bin, dir, version, installedNow: true };
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

/** `codex --version` → `0.169.0`, or null when it does not run. */
async function codexVersion(bin: string): Promise<string | null> {
  try {
    await Deno.stat(bin);
  } catch {
    return null;
  }
  const out = await runWithTimeout(bin, ["--version"], 30_000);
  if (out.error || out.code !== 0) return null;
  return /codex-cli\s+(\S+)/.exec(out.output)?.[1] ?? null;
}

async function runWithTimeout(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number; output: string; error: string | null }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_UPDATE_NOTIFIER: "1", npm_config_update_notifier: "false" },
    }).spawn();
  } catch (error) {
    return { code: -1, output: "", error: `cannot start ${command}: ${(error as Error).message}` };
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  const output = decoder.decode(out.stdout) + decoder.decode(out.stderr);
  if (timedOut) {
    return {
      code: -1,
      output,
      error: `${command} ${args[0]} did not finish within ${timeoutMs / 1000}s`,
    };
  }
  return { code: out.code, output, error: null };
}

/** npm's most telling error line (`npm error code ENOTFOUND`, `… request to … failed`). */
function npmReason(output: string, code: number): string {
  const lines = output.split("\n").map((l) => l.replace(/^npm (?:error|ERR!)\s*/, "").trim())
    .filter((l) => l !== "" && !/^A complete log of this run/i.test(l));
  const telling = lines.find((l) => /request to .* failed/i.test(l)) ??
    lines.find((l) => /ENOTFOUND|EAI_AGAIN|ECONN|ETIMEDOUT|network|E404|E403/i.test(l)) ??
    lines[0];
  return `npm install exited ${code}${telling ? `: ${telling}` : ""}`;
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
