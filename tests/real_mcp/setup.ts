/**
 * The MCP Inspector's command-line client (`@modelcontextprotocol/inspector-cli`), installed from
 * npm once into the test cache by the installer every real-client suite shares
 * (tests/helpers/npm_tool.ts). Release 1.0.3 runs on Node 20; the 2.x inspector needs Node 22.19
 * or newer.
 */
import { join } from "node:path";
import { ensureNpmTool, type ToolInstall } from "../helpers/npm_tool.ts";

export { runWithTimeout } from "../helpers/npm_tool.ts";

export const INSPECTOR_VERSION = "1.0.3";

export type InspectorInstall =
  | (ToolInstall & { ok: true; workDir: string })
  | (ToolInstall & { ok: false });

/**
 * Installs the inspector CLI into the test cache (`mcp-inspector-cli-<version>`) unless it is
 * there; never throws. It has no `--version`, so the install is checked by its package.json.
 *
 * `workDir` is where to run it: 1.0.3 looks for its own package.json at `../package.json` of the
 * current directory (not of its module), so it must run one level below the install.
 */
export async function ensureInspector(): Promise<InspectorInstall> {
  const install = await ensureNpmTool({
    pkg: "@modelcontextprotocol/inspector-cli",
    version: INSPECTOR_VERSION,
    bin: "mcp-inspector-cli",
    folder: `mcp-inspector-cli-${INSPECTOR_VERSION}`,
  });
  if (!install.ok) return install;
  const workDir = join(install.dir, "work");
  await Deno.mkdir(workDir, { recursive: true });
  return { ...install, workDir };
}
