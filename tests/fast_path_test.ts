import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { TOP_LEVEL_HELP } from "../src/cli/help_text.ts";
import { parseSimple } from "../src/commands/fast_path.ts";
import { integer } from "../src/cli/parse.ts";
import { commanderHelp } from "../scripts/help_text.ts";
import { cmcs, PROJECT_DIR } from "./helpers/cli.ts";
import { tempDir, tempRepo } from "./helpers/repo.ts";

const STATUS = {
  positionals: 1,
  switches: ["--active", "--latest", "--json"],
  values: { "--limit": integer(1) },
  defaults: { limit: 20 },
};

/**
 * The modules `deno run` loads before `entry`'s first line runs, as `deno info` reports them:
 * static imports, and with `dynamic` also every literal `import()` (deno run fetches and analyses
 * those too, taken or not). Type-only dependencies (`import type`, `typeof import(…)`) are not
 * loaded and are left out.
 */
async function startupGraph(entry: string, dynamic = false): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", join(PROJECT_DIR, entry)],
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const modules = new Map<
    string,
    { dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[] }
  >(
    info.modules.map((m: { specifier: string }) => [m.specifier, m]),
  );
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if ((dynamic || !dep.isDynamic) && dep.code) visit(dep.code.specifier);
    }
  };
  visit(info.roots[0]);
  return [...seen];
}

Deno.test("cmcs --help printed without commander is exactly commander's help", async () => {
  assert.equal(
    TOP_LEVEL_HELP,
    commanderHelp(),
    "main.ts changed: run `deno task help-text` to rewrite src/cli/help_text.ts",
  );
  await using dir = await tempDir();
  const result = await cmcs(["--help"], { cwd: dir.path });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, TOP_LEVEL_HELP);
});

Deno.test("cmcs --help, status and brief start without loading commander or YAML", async () => {
  for (const entry of ["main.ts", "src/commands/status.ts", "src/commands/brief.ts"]) {
    const npm = (await startupGraph(entry)).filter((s) => s.startsWith("npm:"));
    assert.deepEqual(npm, [], `${entry} loads ${npm.join(", ")} before it runs`);
  }
});

Deno.test("deno run fetches no command, MCP, dashboard or npm module before main.ts's first line", async () => {
  const root = pathToFileURL(PROJECT_DIR).href.replace(/\/?$/, "/");
  const graph = (await startupGraph("main.ts", true)).map((s) => s.replace(root, ""));
  const allowed = /^(main\.ts|src\/version\.ts|src\/cli\/[\w/]+\.ts|src\/core\/[\w/]+\.ts)$/;
  const other = graph.filter((s) => !allowed.test(s) && s !== "src/commands/fast_path.ts");
  assert.deepEqual(other, [], "main.ts's start-up graph (static and literal dynamic imports)");
  assert.ok(graph.includes("src/commands/fast_path.ts"), graph.join(", "));
});

Deno.test("the fast path takes only well-formed status arguments and leaves the rest to commander", () => {
  assert.deepEqual(parseSimple([], STATUS), { positionals: [], options: { limit: 20 } });
  assert.deepEqual(parseSimple(["wt", "--json", "--limit", "3", "--latest"], STATUS), {
    positionals: ["wt"],
    options: { limit: 3, json: true, latest: true },
  });
  assert.deepEqual(parseSimple(["--limit=7"], STATUS)?.options, { limit: 7 });
  for (
    const declined of [
      ["--limit", "0"],
      ["--limit"],
      ["--limit", "--json"],
      ["a", "b"],
      ["-h"],
      ["--help"],
      ["--"],
      ["--jsno"],
      ["--json=yes"],
      ["-"],
    ]
  ) {
    assert.equal(parseSimple(declined, STATUS), null, declined.join(" "));
  }
});

Deno.test("status arguments the fast path declines still get commander's errors and help", async () => {
  await using repo = await tempRepo();
  const init = await cmcs(["init"], { cwd: repo.path });
  assert.equal(init.code, 0, init.stderr);
  const zero = await cmcs(["status", "--limit", "0"], { cwd: repo.path });
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /^error: option '--limit <n>' argument '0' is invalid/m);
  const typo = await cmcs(["status", "--jsno"], { cwd: repo.path });
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown option '--jsno'/);
  const help = await cmcs(["status", "-h"], { cwd: repo.path });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: cmcs status/);
  const ok = await cmcs(["status", ".", "--json", "--limit=5"], { cwd: repo.path });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).runs, []);
  const brief = await cmcs(["brief", "--json"], { cwd: repo.path });
  assert.equal(brief.code, 0, brief.stderr);
  assert.notEqual(JSON.parse(brief.stdout), null);
  // --pretty indents on the fast path as it does through commander; without it, one line.
  for (const args of [["status", "--json", "--pretty"], ["brief", "--json", "--pretty"]]) {
    const pretty = await cmcs(args, { cwd: repo.path });
    assert.equal(pretty.code, 0, pretty.stderr);
    assert.match(pretty.stdout, /^\{\n {2}"/, args.join(" "));
  }
  assert.equal(ok.stdout.trim().split("\n").length, 1, "one line through a pipe");
});

Deno.test("cmcs status and brief in a main checkout find the project without starting git, and ask git from a subdirectory", async () => {
  await using repo = await tempRepo();
  assert.equal((await cmcs(["init"], { cwd: repo.path })).code, 0);
  await Deno.mkdir(join(repo.path, "src"));
  // A git on PATH that notes each call, then runs the real one.
  await using bin = await tempDir();
  const calls = join(bin.path, "calls");
  const realGit = new TextDecoder().decode(
    (await new Deno.Command("sh", { args: ["-c", "command -v git"], stdout: "piped" }).output())
      .stdout,
  ).trim();
  await Deno.writeTextFile(
    join(bin.path, "git"),
    `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${realGit}' "$@"\n`,
  );
  await Deno.chmod(join(bin.path, "git"), 0o755);
  const env = { PATH: `${bin.path}:${Deno.env.get("PATH")}` };
  const called = async () => (await Deno.readTextFile(calls).catch(() => "")).trim();

  const top = await cmcs(["status", "--json"], { cwd: repo.path, env });
  assert.equal(top.code, 0, top.stderr);
  assert.deepEqual(JSON.parse(top.stdout).runs, []);
  const brief = await cmcs(["brief", "--json"], { cwd: repo.path, env });
  assert.equal(brief.code, 0, brief.stderr);
  assert.equal(JSON.parse(brief.stdout).project, repo.path);
  assert.equal(await called(), "", "status or brief started git in a main checkout");

  const sub = await cmcs(["status", "--json"], { cwd: join(repo.path, "src"), env });
  assert.equal(sub.code, 0, sub.stderr);
  assert.equal(JSON.parse(sub.stdout).project, repo.path, "from a subdirectory, the same project");
  assert.match(await called(), /rev-parse/);
});
