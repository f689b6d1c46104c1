import assert from "node:assert/strict";
import { join } from "node:path";
import { buildProgram } from "../main.ts";
import { configKeys } from "../src/core/config.ts";
import { PROJECT_DIR } from "./helpers/cli.ts";
import { checkDocText, documentedConfigKeys, documentedMcpTools } from "./helpers/docs_drift.ts";
import { TOOLS } from "../src/mcp/tools.ts";

async function markdownFiles(): Promise<string[]> {
  const files = ["README.md", "CLAUDE-SNIPPET.md"];
  for (const dir of ["docs", "plugin/skills/cmcs", "plugin/commands"]) {
    for await (const entry of Deno.readDir(join(PROJECT_DIR, dir))) {
      if (entry.isFile && entry.name.endsWith(".md")) files.push(`${dir}/${entry.name}`);
    }
  }
  const existing: string[] = [];
  for (const file of files) {
    try {
      await Deno.stat(join(PROJECT_DIR, file));
      existing.push(file);
    } catch { /* optional file not written */ }
  }
  return existing.sort();
}

Deno.test("every cmcs command and flag named in README, docs/, the skill and the plugin commands exists in --help", async () => {
  const program = buildProgram();
  const problems = [];
  for (const file of await markdownFiles()) {
    problems.push(...checkDocText(file, await Deno.readTextFile(join(PROJECT_DIR, file)), program));
  }
  assert.deepEqual(problems.map((p) => `${p.file}:${p.line}: ${p.message}`), []);
});

Deno.test("the docs check reports a flag that was renamed in the code", () => {
  const program = buildProgram();
  const doc = "Use `cmcs wait . --timeout 60` and\n\n```\ncmcs logs --follow\n```\n";
  assert.deepEqual(checkDocText("doc.md", doc, program), []);
  const renamed = doc.replace("--timeout", "--time-limit");
  assert.deepEqual(checkDocText("doc.md", renamed, program), [
    { file: "doc.md", line: 1, message: '"cmcs wait" has no option --time-limit' },
  ]);
  assert.deepEqual(checkDocText("doc.md", "`cmcs wiat .`", program), [
    { file: "doc.md", line: 1, message: 'unknown command "cmcs wiat"' },
  ]);
});

Deno.test("docs/configuration.md lists exactly the config keys of the schema", async () => {
  const documented = documentedConfigKeys(
    await Deno.readTextFile(join(PROJECT_DIR, "docs/configuration.md")),
  );
  const schema = configKeys().map((k) => k.key);
  assert.deepEqual([...documented].sort(), [...schema].sort());
});

Deno.test("the config-key check notices a key missing from the docs", () => {
  const text = "## Keys\n\n| key | type |\n| --- | --- |\n| `codex.model` | string |\n";
  assert.deepEqual(documentedConfigKeys(text), ["codex.model"]);
});

Deno.test("docs/mcp.md lists exactly the MCP tools and each tool's arguments", async () => {
  const documented = documentedMcpTools(
    await Deno.readTextFile(join(PROJECT_DIR, "docs/mcp.md")),
  );
  const served = Object.fromEntries(TOOLS.map((t) => [t.name, Object.keys(t.input.shape)]));
  assert.deepEqual(documented, served);
});

Deno.test("the MCP docs check notices an argument renamed in the code", () => {
  const text = "### `logs`\n\n| argument | type |\n| --- | --- |\n| `lines` | integer |\n" +
    "\n## Other\n\n| `not_an_argument` | x |\n";
  assert.deepEqual(documentedMcpTools(text), { logs: ["lines"] });
  assert.notDeepEqual(documentedMcpTools(text), { logs: ["count"] });
});
