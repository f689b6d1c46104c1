/**
 * The real Claude Code CLI for the end-to-end suite of the cmcs plugin: `@anthropic-ai/claude-code`
 * installed from npm once into a cache directory (about 400 MB: the package's native binary,
 * reused across runs), and a throwaway `HOME`/`CLAUDE_CONFIG_DIR` whose environment points Claude
 * Code at the mock Messages API on 127.0.0.1 and turns off everything else it would contact.
 */
import { join } from "node:path";
import { ensureNpmTool, type ToolInstall } from "../helpers/npm_tool.ts";

export { runWithTimeout } from "../helpers/npm_tool.ts";

/** The Claude Code release the plugin is tested against. */
export const CLAUDE_CODE_VERSION = Deno.env.get("CMCS_TEST_CLAUDE_VERSION") || "2.1.332";

export type ClaudeInstall = ToolInstall;

/**
 * Installs `@anthropic-ai/claude-code@<version>` into the test cache (`claude-code-<version>`, see
 * {@link ensureNpmTool}) unless it is there, and returns its `claude`; never throws.
 */
export function ensureClaude(version = CLAUDE_CODE_VERSION): Promise<ClaudeInstall> {
  return ensureNpmTool({
    pkg: "@anthropic-ai/claude-code",
    version,
    bin: "claude",
    folder: `claude-code-${version}`,
    versionOf: (output) => /^(\d+\.\d+\.\d+)/.exec(output.trim())?.[1] ?? null,
  });
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

/**
 * A throwaway Claude Code home that talks to the mock at `baseUrl` (`http://127.0.0.1:PORT`).
 *
 * Deno keeps its module cache under `$HOME` unless `DENO_DIR` says otherwise, so the home keeps
 * pointing at this machine's cache: with an empty one, the plugin's MCP server (`cmcs mcp`, started
 * with the session) fills it while holding its lock, and the session-start hook's `cmcs brief`
 * waits past its 8 s and prints nothing. A user's cache is warm after the first session.
 */
export async function claudeHome(baseUrl: string): Promise<ClaudeHome> {
  const path = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmcs-claude-home-" }));
  await Deno.mkdir(join(path, "tmp"));
  return {
    path,
    env: {
      HOME: path,
      DENO_DIR: await denoDir(),
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

/** This machine's Deno cache, as `deno info` reports it. */
async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}
