import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { DEFAULT_CONFIG } from "../src/core/config.ts";
import { cmcs } from "./helpers/cli.ts";
import { gitIn, tempRepo } from "./helpers/repo.ts";

/** A temp repository with `.cmcs/` made by hand and, if given, a config file. */
async function repoWithConfig(text?: string) {
  const repo = await tempRepo();
  await Deno.mkdir(join(repo.path, ".cmcs"));
  if (text !== undefined) await Deno.writeTextFile(join(repo.path, ".cmcs", "config.yml"), text);
  return repo;
}

const LEGACY = `codex:
  model: gpt-5.3-codex
  args: ["--yolo", "exec", "--sandbox", "danger-full-access", "-c", "reasoning_effort=xhigh"]
worktrees:
  start_point: master
`;

Deno.test("cmcs config show prints every default, marked as such, when there is no config file", async () => {
  await using repo = await repoWithConfig();
  const result = await cmcs(["config", "show"], { cwd: repo.path });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  const lines = result.stdout.trimEnd().split("\n");
  assert.match(lines[0], /config\.yml \(no such file: every value is a default\)$/);
  assert.match(result.stdout, /^ {2}sandbox: danger-full-access +# default$/m);
  assert.match(result.stdout, /^ {2}model: null +# default$/m);
  assert.match(result.stdout, /^ {2}port_range: \[4300, 4399\] +# default$/m);
  assert.deepEqual(parse(result.stdout), DEFAULT_CONFIG);
});

Deno.test("cmcs config show prints the merged config as YAML, with the line each value came from", async () => {
  await using repo = await repoWithConfig(
    'codex:\n  model: gpt-5.5\n  extra_args: ["--search", "a: b"]\nworktrees:\n  copy: [.env]\n  setup: "true"\n',
  );
  const result = await cmcs(["config", "show"], { cwd: repo.path });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.split("\n")[0], `# ${join(repo.path, ".cmcs", "config.yml")}`);
  assert.match(result.stdout, /^ {2}model: gpt-5\.5 +# line 2$/m);
  assert.match(result.stdout, /^ {2}copy: \[\.env\] +# line 5$/m);
  assert.match(result.stdout, /^ {2}timeout_s: 1800 +# default$/m);
  const commentColumns = new Set(
    result.stdout.split("\n").filter((l) => l.includes("#") && !l.startsWith("#"))
      .map((l) => l.indexOf("#")),
  );
  assert.equal(commentColumns.size, 1, "source comments are aligned");

  const shown = parse(result.stdout);
  assert.equal(shown.codex.model, "gpt-5.5");
  assert.deepEqual(shown.codex.extra_args, ["--search", "a: b"]);
  assert.equal(shown.worktrees.setup, "true", "a string that looks like a boolean stays quoted");
  assert.equal(shown.codex.auto_commit, true);
});

Deno.test("cmcs config show --json prints path, exists, config, sources and warnings", async () => {
  await using repo = await repoWithConfig("run:\n  max_parallel: 2\n");
  const result = await cmcs(["config", "show", "--json"], { cwd: repo.path });
  assert.equal(result.code, 0, result.stderr);
  const doc = JSON.parse(result.stdout);
  const path = join(repo.path, ".cmcs", "config.yml");
  assert.deepEqual(Object.keys(doc), ["path", "exists", "config", "sources", "warnings"]);
  assert.equal(doc.path, path);
  assert.equal(doc.exists, true);
  assert.deepEqual(doc.config, { ...DEFAULT_CONFIG, run: { max_parallel: 2 } });
  assert.equal(doc.sources["run.max_parallel"], `${path}:2`);
  assert.equal(doc.sources["codex.timeout_s"], "default");
  assert.deepEqual(doc.warnings, []);
});

Deno.test("cmcs config show warns on stderr about a legacy config and shows it translated", async () => {
  await using repo = await repoWithConfig(LEGACY);
  const text = await cmcs(["config", "show"], { cwd: repo.path });
  assert.equal(text.code, 0, text.stderr);
  const warnings = text.stderr.trimEnd().split("\n");
  assert.equal(warnings.length, 2, text.stderr);
  assert.match(
    warnings[0],
    /^warning: \.cmcs\/config\.yml:3: codex\.args is from the earlier cmcs/,
  );
  assert.match(
    warnings[1],
    /^warning: \.cmcs\/config\.yml:5: worktrees\.start_point .*worktrees\.base: master/,
  );
  assert.match(text.stdout, /^ {2}reasoning_effort: xhigh +# line 3$/m);
  assert.match(text.stdout, /^ {2}base: master +# line 5$/m);

  const json = await cmcs(["config", "show", "--json"], { cwd: repo.path });
  assert.equal(json.code, 0, json.stderr);
  assert.equal(json.stderr, "", "with --json the warnings are only in the document");
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.warnings.length, 2);
  assert.equal(doc.config.codex.sandbox, "danger-full-access");
  assert.equal(doc.config.codex.model, "gpt-5.3-codex");
  assert.equal(doc.config.worktrees.base, "master");
  assert.equal("args" in doc.config.codex, false);
});

Deno.test("cmcs config show exits 1 with one error line naming file, line and key, and a hint", async () => {
  await using repo = await repoWithConfig('codex:\n  model: x\n  auto_commit: "false"\n');
  for (const args of [["config", "show"], ["config", "show", "--json"]]) {
    const result = await cmcs(args, { cwd: repo.path });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.deepEqual(result.stderr.trimEnd().split("\n"), [
      'error: .cmcs/config.yml:3: codex.auto_commit must be true or false, got the string "false"',
      "hint: write false without quotes",
    ]);
  }
});

Deno.test("cmcs config show reports a YAML syntax error without a stack trace", async () => {
  await using repo = await repoWithConfig("codex:\n  model: [unclosed\n  timeout_s: 5\n");
  const result = await cmcs(["config", "show"], { cwd: repo.path });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: \.cmcs\/config\.yml:\d+: invalid YAML: /);
  assert.doesNotMatch(result.stderr, /internal error|\n\s+at /);
});

Deno.test("cmcs config show fails with a hint to run init when .cmcs/ is missing", async () => {
  await using repo = await tempRepo();
  const result = await cmcs(["config", "show"], { cwd: repo.path });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: cmcs is not initialized in /);
  assert.match(result.stderr, /hint: run `cmcs init`/);
});

Deno.test("cmcs config show in a linked worktree reads the main checkout's config", async () => {
  await using repo = await repoWithConfig("dashboard:\n  port: 5123\n");
  const worktree = join(repo.path, "worktrees", "feat");
  await gitIn(repo.path, "worktree", "add", "-q", "-b", "feat", worktree);
  await Deno.mkdir(join(worktree, ".cmcs"));
  await Deno.writeTextFile(join(worktree, ".cmcs", "config.yml"), "dashboard:\n  port: 1\n");
  const result = await cmcs(["config", "show", "--json"], { cwd: worktree });
  assert.equal(result.code, 0, result.stderr);
  const doc = JSON.parse(result.stdout);
  assert.equal(doc.path, join(repo.path, ".cmcs", "config.yml"));
  assert.equal(doc.config.dashboard.port, 5123);
});
