/**
 * The real Claude Code CLI for the end-to-end suite of the cmcs plugin: `@anthropic-ai/claude-code`
 * installed from npm once into a cache directory (about 400 MB: the package's native binary,
 * reused across runs), and a throwaway `HOME`/`CLAUDE_CONFIG_DIR` whose environment points Claude
 * Code at the mock Messages API on 127.0.0.1 and turns off everything else it would contact.
 */
import { join } from "node:path";

/** The Claude Code release the plugin is tested against. */
export const CLAUDE_CODE_VERSION = Deno.env.get("CMCS_TEST_CLAUDE_VERSION") || "2.1.332";

/** How long an npm install may take before it counts as failed (a hung registry connection). */
const INSTALL_TIMEOUT_MS = 5 * 60_000;

export type ClaudeInstall =
  | { ok: true; bin: string; version: string }
  | { ok: false; reason: string };

/**
 * `claude-code-<version>` under `$CMCS_TEST_CODEX_CACHE` (the real-Codex suite's cache, so CI
 * caches one folder), else under `$XDG_CACHE_HOME/cmcs-test`, else `~/.cache/cmcs-test`.
 */
export function claudeCacheDir(version: string): string {
  const base = Deno.env.get("CMCS_TEST_CODEX_CACHE") ||
    join(
      Deno.env.get("XDG_CACHE_HOME") || join(Deno.env.get("HOME") ?? Deno.cwd(), ".cache"),
      "cmcs-test",
    );
  return join(base, `claude-code-${version}`);
}

/**
 * Installs `@anthropic-ai/claude-code@<version>` into the cache unless a complete install is
 * there, and returns its `node_modules/.bin/claude`. The install goes into a fresh sibling that is
 * renamed into place only after `claude --version` answered the expected version, so an
 * interrupted install is never reused. Never throws: when npm or the registry is unavailable the
 * result says why, in one line.
 */
export async function ensureClaude(version = CLAUDE_CODE_VERSION): Promise<ClaudeInstall> {
  const dir = claudeCacheDir(version);
  const bin = join(dir, "node_modules", ".bin", "claude");
  if ((await claudeVersion(bin)) === version) return { ok: true, bin, version };

  const parent = join(dir, "..");
  await Deno.mkdir(parent, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: parent, prefix: `.claude-code-${version}-` });
  try {
    await Deno.writeTextFile(
      join(staging, "package.json"),
      JSON.stringify({ name: "cmcs-test-claude-code", private: true }) + "\n",
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
      `@anthropic-ai/claude-code@${version}`,
    ], INSTALL_TIMEOUT_MS);
    if (npm.error) return { ok: false, reason: npm.error };
    if (npm.code !== 0) return { ok: false, reason: npmReason(npm.output, npm.code) };
    const got = await claudeVersion(join(staging, "node_modules", ".bin", "claude"));
    if (got !== version) {
      return {
        ok: false,
        reason: `the installed claude answered ${
          JSON.stringify(got)
        } to --version, expected ${version}`,
      };
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    try {
      await Deno.rename(staging, dir);
    } catch (error) {
      // Another test process installed it at the same moment: use theirs if it is complete.
      if ((await claudeVersion(bin)) !== version) {
        return { ok: false, reason: `cannot move the install into ${dir}: ${error}` };
      }
    }
    return { ok: true, bin, version };
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

/** `claude --version` → `2.1.332`, or null when it does not run. */
async function claudeVersion(bin: string): Promise<string | null> {
  try {
    await Deno.stat(bin);
  } catch {
    return null;
  }
  const out = await runWithTimeout(bin, ["--version"], 30_000);
  if (out.error || out.code !== 0) return null;
  return /^(\d+\.\d+\.\d+)/.exec(out.output.trim())?.[1] ?? null;
}

/** Runs a command to its end (killed after `timeoutMs`), stdout and stderr together. */
export async function runWithTimeout(
  command: string,
  args: string[],
  timeoutMs: number,
  options: { cwd?: string; env?: Record<string, string>; clearEnv?: boolean } = {},
): Promise<{ code: number; output: string; stdout: string; error: string | null }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args,
      cwd: options.cwd,
      clearEnv: options.clearEnv,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_UPDATE_NOTIFIER: "1", npm_config_update_notifier: "false", ...options.env },
    }).spawn();
  } catch (error) {
    return {
      code: -1,
      output: "",
      stdout: "",
      error: `cannot start ${command}: ${(error as Error).message}`,
    };
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
  const stdout = decoder.decode(out.stdout);
  const output = stdout + decoder.decode(out.stderr);
  if (timedOut) {
    return {
      code: -1,
      output,
      stdout,
      error: `${command} ${args[0]} did not finish within ${timeoutMs / 1000}s`,
    };
  }
  return { code: out.code, output, stdout, error: null };
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

export interface ClaudeHome extends AsyncDisposable {
  /** The throwaway home directory; `CLAUDE_CONFIG_DIR` is its `.claude/`. */
  path: string;
  /**
   * Environment for `claude`: the throwaway home, the mock's base URL, a dummy API key, and
   * telemetry, auto-update and other non-essential traffic off (then `-p` sends only
   * `POST /v1/messages`, and `claude plugin …` does not retry DNS look-ups for 18 s).
   */
  env: Record<string, string>;
}

/** A throwaway Claude Code home that talks to the mock at `baseUrl` (`http://127.0.0.1:PORT`). */
export async function claudeHome(baseUrl: string): Promise<ClaudeHome> {
  const path = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmcs-claude-home-" }));
  await Deno.mkdir(join(path, "tmp"));
  return {
    path,
    env: {
      HOME: path,
      // Claude Code keeps background commands' output files under $TMPDIR/claude-<uid>/.
      TMPDIR: join(path, "tmp"),
      CLAUDE_CONFIG_DIR: join(path, ".claude"),
      ANTHROPIC_BASE_URL: baseUrl,
      ANTHROPIC_API_KEY: "sk-ant-mock-key",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_AUTOUPDATER: "1",
      DISABLE_ERROR_REPORTING: "1",
      NO_COLOR: "1",
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}
