/**
 * On-demand modules (src/core/lazy.ts): how they are named, how the bundle build finds them all,
 * and the generated bundle entry that replaces the source tree with literal imports.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bundleEntry, onDemandModules } from "../scripts/bundle.ts";
import { lazy, onDemandEntries } from "../src/core/lazy.ts";
import { VERSION } from "../src/version.ts";
import { PROJECT_DIR } from "./helpers/cli.ts";
import { tempDir } from "./helpers/repo.ts";

Deno.test("onDemandEntries() reads an OnDemand map's entries and passes over comments", () => {
  const text = [
    "/**",
    ' *   "src/doc.ts": typeof import("./src/doc.ts");',
    " */",
    "interface OnDemand {",
    '  "src/commands/init.ts": typeof import("./src/commands/init.ts");',
    '  // "src/old.ts": typeof import("./src/old.ts");',
    '  "@commander-js/extra-typings": typeof import("@commander-js/extra-typings");',
    "}",
  ].join("\n");
  assert.deepEqual(onDemandEntries(text), [
    { name: "src/commands/init.ts", specifier: "./src/commands/init.ts" },
    { name: "@commander-js/extra-typings", specifier: "@commander-js/extra-typings" },
  ]);
});

Deno.test("the bundle build finds commander, every command, the MCP server and the dashboard among the on-demand modules", async () => {
  const names = await onDemandModules();
  for (
    const name of [
      "@commander-js/extra-typings",
      "src/commands/status.ts",
      "src/commands/brief.ts",
      "src/commands/run.ts",
      "src/commands/dashboard.ts",
      "src/mcp/command.ts",
    ]
  ) {
    assert.ok(names.includes(name), `${name} is not in ${names.join(", ")}`);
  }
  // Every command main.ts declares is loaded on demand, none with a literal import().
  const main = await Deno.readTextFile(join(PROJECT_DIR, "main.ts"));
  const loads = [...main.matchAll(/\bload\("([^"]+)"\)/g)].map((match) => match[1]);
  assert.ok(loads.length >= 20, `main.ts loads only ${loads.length} modules on demand`);
  for (const name of loads) assert.ok(names.includes(name), name);
  const code = main.replace(/\/\*[\s\S]*?\*\//g, "").replace(/typeof import\(/g, "");
  assert.doesNotMatch(code, /\bimport\(/);
});

Deno.test("an on-demand module named other than by its path from the project root fails the bundle build", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "src/commands"), { recursive: true });
  await Deno.writeTextFile(
    join(dir.path, "main.ts"),
    'interface OnDemand {\n  "@commander-js/extra-typings": typeof import("@commander-js/extra-typings");\n}\n',
  );
  await Deno.writeTextFile(
    join(dir.path, "src/commands/fast.ts"),
    'interface OnDemand {\n  "src/commands/status.ts": typeof import("./status.ts");\n' +
      '  "status.ts": typeof import("./status.ts");\n}\n',
  );
  await assert.rejects(
    onDemandModules(dir.path),
    /src\/commands\/fast\.ts: "status\.ts" names \.\/status\.ts \(src\/commands\/status\.ts\)/,
  );
});

Deno.test("lazy() loads a source module by its path from the project root", async () => {
  const version = await lazy<typeof import("../src/version.ts")>("src/version.ts");
  assert.equal(version.VERSION, VERSION);
});

Deno.test("the bundle's generated entry imports every on-demand module literally and loads main.ts only when the fast path declines", () => {
  const { registry, entry } = bundleEntry(["@commander-js/extra-typings", "src/commands/run.ts"]);
  const url = (path: string) => pathToFileURL(join(PROJECT_DIR, path)).href;
  assert.ok(
    registry.includes(`"src/commands/run.ts": () => import("${url("src/commands/run.ts")}")`),
  );
  assert.ok(
    registry.includes('"@commander-js/extra-typings": () => import("@commander-js/extra-typings")'),
  );
  assert.ok(registry.includes(`"main.ts": () => import("${url("main.ts")}")`));
  const statics = [...entry.matchAll(/^import (?:.* from )?"([^"]+)";$/gm)].map((m) => m[1]);
  assert.deepEqual(statics, [
    "./registry.ts",
    url("src/commands/fast_path.ts"),
    url("src/core/lazy.ts"),
  ]);
  assert.ok(entry.indexOf("fastPath(Deno.args)") < entry.indexOf("lazy<"), entry);
});
