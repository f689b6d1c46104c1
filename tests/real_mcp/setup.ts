/**
 * The MCP Inspector's command-line client (`@modelcontextprotocol/inspector-cli`), installed from
 * npm once into a cache directory and reused. Release 1.0.3 runs on Node 20; the 2.x inspector
 * needs Node 22.19 or newer.
 */
import { join } from "node:path";

export const INSPECTOR_VERSION = "1.0.3";

/** How long the npm install may take before it counts as failed (a hung registry connection). */
const INSTALL_TIMEOUT_MS = 5 * 60_000;

export type InspectorInstall =
  | { ok: true; bin: string; dir: string; workDir: string }
  | { ok: false; reason: string };

/**
 * `mcp-inspector-cli-<version>` under `$CMCS_TEST_CODEX_CACHE`, else `$XDG_CACHE_HOME/cmcs-test`,
 * else `~/.cache/cmcs-test` (the cache of the real Codex suite).
 */
export function inspectorCacheDir(): string {
  const base = Deno.env.get("CMCS_TEST_CODEX_CACHE") ||
    join(
      Deno.env.get("XDG_CACHE_HOME") || join(Deno.env.get("HOME") ?? Deno.cwd(), ".cache"),
      "cmcs-test",
    );
  return join(base, `mcp-inspector-cli-${INSPECTOR_VERSION}`);
}

/**
 * Installs the inspector CLI into the cache unless a complete install is there; never throws.
 * The install goes into a fresh sibling directory renamed into place once complete, so an
 * interrupted install is never reused.
 *
 * `workDir` is where to run it: 1.0.3 looks for its own package.json at `../package.json` of the
 * current directory (not of its module), so it must run one level below the install.
 */
export async function ensureInspector(): Promise<InspectorInstall> {
  const dir = inspectorCacheDir();
  const bin = join(dir, "node_modules", ".bin", "mcp-inspector-cli");
  const workDir = join(dir, "work");
  if (await isFile(bin)) return { ok: true, bin, dir, workDir };
  const parent = join(dir, "..");
  await Deno.mkdir(parent, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: parent, prefix: ".mcp-inspector-cli-" });
  try {
    await Deno.writeTextFile(
      join(staging, "package.json"),
      JSON.stringify({ name: "cmcs-test-mcp-inspector", private: true }) + "\n",
    );
    await Deno.mkdir(join(staging, "work"));
    const npm = await run("npm", [
      "install",
      "--prefix",
      staging,
      "--no-audit",
      "--no-fund",
      "--no-update-notifier",
      "--loglevel=error",
      "--fetch-retries=1",
      "--fetch-timeout=30000",
      `@modelcontextprotocol/inspector-cli@${INSPECTOR_VERSION}`,
    ], INSTALL_TIMEOUT_MS);
    if (npm.code !== 0) {
      const line = npm.output.split("\n").map((l) => l.replace(/^npm (?:error|ERR!)\s*/, "").trim())
        .find((l) => l !== "");
      return { ok: false, reason: `npm install exited ${npm.code}${line ? `: ${line}` : ""}` };
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.rename(staging, dir);
    return { ok: true, bin, dir, workDir };
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Runs a command to its end, killed after `timeoutMs`; code -1 when it cannot start or hung. */
export async function run(
  command: string,
  args: string[],
  timeoutMs: number,
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; output: string; stdout: string }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args,
      cwd: options.cwd,
      env: { NO_UPDATE_NOTIFIER: "1", npm_config_update_notifier: "false", ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    return { code: -1, output: `cannot start ${command}: ${(error as Error).message}`, stdout: "" };
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  const stdout = decoder.decode(out.stdout);
  return { code: out.code, output: stdout + decoder.decode(out.stderr), stdout };
}
