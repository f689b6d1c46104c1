/**
 * Real clients for the end-to-end suites (the Codex CLI, Claude Code, the MCP Inspector),
 * installed from npm once into a cache directory and reused across runs. One installer for all
 * of them, so each suite only says which package, which version and how its `--version` reads.
 */
import { dirname, join } from "node:path";

/** How long an npm install may take before it counts as failed (a hung registry connection). */
const INSTALL_TIMEOUT_MS = 5 * 60_000;

export type ToolInstall =
  | { ok: true; bin: string; dir: string; version: string; installedNow: boolean }
  | { ok: false; reason: string };

export interface NpmTool {
  /** The npm package, e.g. `@openai/codex`. */
  pkg: string;
  version: string;
  /** The executable under `node_modules/.bin/`. */
  bin: string;
  /** The cache folder's name, e.g. `codex-0.171.0`. */
  folder: string;
  /**
   * The version the tool's `--version` output names, or null. Without it (a tool that has no
   * `--version`, such as the MCP Inspector's CLI) the version is read from the installed
   * package's own package.json.
   */
  versionOf?(output: string): string | null;
}

/**
 * The cache folder of a tool: `folder` under `$CMCS_TEST_CODEX_CACHE` (one folder for CI to keep),
 * else under `$XDG_CACHE_HOME/cmcs-test`, else under `~/.cache/cmcs-test`.
 */
export function toolCacheDir(folder: string): string {
  const base = Deno.env.get("CMCS_TEST_CODEX_CACHE") ||
    join(
      Deno.env.get("XDG_CACHE_HOME") || join(Deno.env.get("HOME") ?? Deno.cwd(), ".cache"),
      "cmcs-test",
    );
  return join(base, folder);
}

/**
 * Installs `tool` into its cache folder unless a complete install is already there, and returns
 * the path of its executable. The install goes into a fresh sibling folder that is renamed into
 * place only after `--version` answered the expected version, so an interrupted install is never
 * reused. Never throws: when npm or the registry is unavailable the result says why, in one line.
 */
export async function ensureNpmTool(tool: NpmTool): Promise<ToolInstall> {
  const dir = toolCacheDir(tool.folder);
  const bin = join(dir, "node_modules", ".bin", tool.bin);
  const installed = { ok: true as const, bin, dir, version: tool.version };
  if ((await _versionOf(tool, bin)) === tool.version) return { ...installed, installedNow: false };

  const parent = join(dir, "..");
  await Deno.mkdir(parent, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: parent, prefix: `.${tool.folder}-` });
  try {
    await Deno.writeTextFile(
      join(staging, "package.json"),
      JSON.stringify({ name: `cmcs-test-${tool.bin}`, private: true }) + "\n",
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
      `${tool.pkg}@${tool.version}`,
    ], INSTALL_TIMEOUT_MS);
    if (npm.error) return { ok: false, reason: npm.error };
    if (npm.code !== 0) return { ok: false, reason: _npmReason(npm.output, npm.code) };
    const got = await _versionOf(tool, join(staging, "node_modules", ".bin", tool.bin));
    if (got !== tool.version) {
      return {
        ok: false,
        reason: `the installed ${tool.bin} answered ${
          JSON.stringify(got)
        } to --version, expected ${tool.version}`,
      };
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    try {
      await Deno.rename(staging, dir);
    } catch (error) {
      // Another test process installed it at the same moment: use theirs if it is complete.
      if ((await _versionOf(tool, bin)) !== tool.version) {
        return { ok: false, reason: `cannot move the install into ${dir}: ${error}` };
      }
    }
    return { ...installed, installedNow: true };
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
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

/** `<bin> --version` read by the tool's own rule, or null when it does not run. */
async function _versionOf(tool: NpmTool, bin: string): Promise<string | null> {
  try {
    await Deno.stat(bin);
  } catch {
    return null;
  }
  if (!tool.versionOf) {
    // bin is <dir>/node_modules/.bin/<name>; the package is <dir>/node_modules/<pkg>.
    const manifest = join(dirname(bin), "..", tool.pkg, "package.json");
    try {
      const version = JSON.parse(await Deno.readTextFile(manifest)).version;
      return typeof version === "string" ? version : null;
    } catch {
      return null;
    }
  }
  const out = await runWithTimeout(bin, ["--version"], 30_000);
  if (out.error || out.code !== 0) return null;
  return tool.versionOf(out.output);
}

/** npm's most telling error line (`npm error code ENOTFOUND`, `… request to … failed`). */
function _npmReason(output: string, code: number): string {
  const lines = output.split("\n").map((l) => l.replace(/^npm (?:error|ERR!)\s*/, "").trim())
    .filter((l) => l !== "" && !/^A complete log of this run/i.test(l));
  const telling = lines.find((l) => /request to .* failed/i.test(l)) ??
    lines.find((l) => /ENOTFOUND|EAI_AGAIN|ECONN|ETIMEDOUT|network|E404|E403/i.test(l)) ??
    lines[0];
  return `npm install exited ${code}${telling ? `: ${telling}` : ""}`;
}
