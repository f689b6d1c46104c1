import assert from "node:assert/strict";
import { join } from "node:path";
import { PROJECT_DIR } from "./helpers/cli.ts";
import { tempDir } from "./helpers/repo.ts";

const COMMITTED = join(PROJECT_DIR, "bench/results.json");

async function mtime(path: string): Promise<number | null> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? null;
  } catch {
    return null;
  }
}

// Proves `deno task bench` works end to end, in its tiny quick mode; it never looks at a timing.
Deno.test("the benchmark runs in quick mode and writes a results table and valid JSON", async () => {
  await using out = await tempDir("cmcs-bench-out-");
  const committedBefore = await mtime(COMMITTED);
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      "--allow-net",
      "--allow-sys",
      join(PROJECT_DIR, "bench/run.ts"),
      "--quick",
      "--out",
      out.path,
    ],
    cwd: PROJECT_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(child.stderr);
  assert.equal(child.code, 0, stderr);

  const results = JSON.parse(await Deno.readTextFile(join(out.path, "results.json")));
  assert.equal(results.settings.quick, true);
  assert.ok(results.machine.cores >= 1 && typeof results.machine.deno === "string");
  const measures: string[] = results.rows.map((r: { measure: string }) => r.measure);
  for (
    const expected of [
      "`cmcs --help`",
      "broker overhead per ticket, auto-commit off",
      "broker overhead per ticket, auto-commit on",
      "in parallel",
      "dashboard overview page",
      "event recorded → SSE client",
      "peak memory of `cmcs run`, one target",
    ]
  ) {
    assert.ok(measures.some((m) => m.includes(expected)), `no row for ${expected}: ${measures}`);
  }
  for (const row of results.rows) {
    assert.ok(row.met === null || typeof row.met === "boolean", row.measure);
    assert.ok(row.result && row.floor && row.target, row.measure);
  }
  // The parallel run really ran every ticket: the check that guards "no lost events".
  const parallel = results.rows.find((r: { measure: string }) => r.measure.includes("in parallel"));
  assert.equal(parallel.values.lost, 0);
  assert.equal(parallel.values.lock_errors, 0);

  const markdown = await Deno.readTextFile(join(out.path, "results.md"));
  assert.match(markdown, /\| measure \| floor \| result \| target \| met\? \|/);
  assert.equal(
    markdown.split("\n").filter((l) => l.startsWith("| ")).length >= results.rows.length + 1,
    true,
  );
  assert.match(markdown, /--quick \(tiny sizes: not results\)/);
  // --out kept the quick run away from the committed results.
  assert.equal(await mtime(COMMITTED), committedBefore);
});
