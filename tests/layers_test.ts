/**
 * The code's layers, checked on the source itself: every import points down, and SQL text lives
 * only in src/core/db/. The layers and what each may import are the table in docs/architecture.md
 * ("Code layers"); this test is that table as code.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));

/**
 * Each layer, the first prefix that matches a file's path, and the layers its imports may reach.
 * Order matters: `src/core/db/` before `src/core/`.
 */
const LAYERS: { name: string; prefix: string; mayImport: string[] }[] = [
  {
    name: "main",
    prefix: "main.ts",
    mayImport: ["mcp", "commands", "cli", "routes", "islands", "dashboard", "core", "version"],
  },
  // A second front end beside main.ts: its tools call the commands' report functions.
  { name: "mcp", prefix: "src/mcp/", mayImport: ["mcp", "commands", "cli", "core", "version"] },
  {
    name: "commands",
    prefix: "src/commands/",
    mayImport: ["commands", "cli", "routes", "islands", "dashboard", "core", "version"],
  },
  {
    name: "routes",
    prefix: "routes/",
    mayImport: ["routes", "islands", "dashboard", "core", "version"],
  },
  { name: "islands", prefix: "islands/", mayImport: ["islands", "dashboard", "core", "version"] },
  { name: "cli", prefix: "src/cli/", mayImport: ["cli", "core", "version"] },
  { name: "dashboard", prefix: "src/dashboard/", mayImport: ["dashboard", "core", "version"] },
  { name: "core", prefix: "src/core/", mayImport: ["core", "version"] },
  { name: "version", prefix: "src/version.ts", mayImport: [] },
];

function layerOf(path: string): string | undefined {
  return LAYERS.find((layer) => path === layer.prefix || path.startsWith(layer.prefix))?.name;
}

/** Module specifiers of static imports and re-exports, `import "x"` and `import("x")`. */
const IMPORT =
  /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** A string that starts like a SQL statement: it belongs in a query function of src/core/db/. */
const SQL =
  /["'`]\s*(?:SELECT\s|INSERT\s+(?:OR\s+\w+\s+)?INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|CREATE\s+(?:TABLE|INDEX|UNIQUE)\s|ALTER\s+TABLE\s|DROP\s+(?:TABLE|INDEX)\s|PRAGMA\s|BEGIN(?:\s+IMMEDIATE)?\s*["'`;]|COMMIT\s*["'`;]|ROLLBACK\s*["'`;]|WITH\s+\w+\s+AS\s*\()/;

/** Every .ts/.tsx file of the program (not tests, benches or scripts), relative to the root. */
async function sourceFiles(): Promise<string[]> {
  const files: string[] = ["main.ts"];
  const visit = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(join(ROOT, dir))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await visit(path);
      else if (/\.tsx?$/.test(entry.name)) files.push(path);
    }
  };
  for (const dir of ["src", "routes", "islands"]) await visit(dir);
  return files.sort();
}

/** Removes comments so a JSDoc example is not taken for an import or a query. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

Deno.test("no module imports one from a layer above it", async () => {
  const upward: string[] = [];
  for (const file of await sourceFiles()) {
    const from = layerOf(file);
    if (from === undefined) {
      upward.push(`${file}: in no layer (add it to the table in docs/architecture.md)`);
      continue;
    }
    const allowed = LAYERS.find((layer) => layer.name === from)!.mayImport;
    const text = withoutComments(await Deno.readTextFile(join(ROOT, file)));
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2];
      if (!spec.startsWith(".") || !/\.[jt]sx?$/.test(spec)) continue;
      const target = relative(ROOT, join(ROOT, dirname(file), spec));
      const to = layerOf(target);
      if (to === undefined || !allowed.includes(to)) {
        upward.push(`${file} (${from}) imports ${target} (${to ?? "outside the layers"})`);
      }
    }
  }
  assert.deepEqual(upward, []);
});

Deno.test("SQL text appears only in src/core/db/", async () => {
  const outside: string[] = [];
  for (const file of await sourceFiles()) {
    if (file.startsWith("src/core/db/")) continue;
    const lines = withoutComments(await Deno.readTextFile(join(ROOT, file))).split("\n");
    lines.forEach((line, i) => {
      if (SQL.test(line)) outside.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(outside, []);
});

Deno.test("the layer check sees an upward import and a query outside src/core/db/", () => {
  const text = `import { x } from "../../cli/errors.ts";\nimport type { Y } from "./y.ts";\n` +
    `const run = await import("../commands/run.ts");\nexport { z } from "./z.ts";`;
  const specs = [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2]);
  assert.deepEqual(specs, ["../../cli/errors.ts", "./y.ts", "../commands/run.ts", "./z.ts"]);
  assert.deepEqual(SQL.test(`db.get<{ n: number }>("SELECT COUNT(*) AS n FROM runs")`), true);
  assert.deepEqual(SQL.test("db.run(`UPDATE worktrees SET port = ?`)"), true);
  assert.deepEqual(SQL.test(`throw new Error("select a ticket")`), false);
});
