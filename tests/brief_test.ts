import assert from "node:assert/strict";
import { join } from "node:path";
import { isSameProcessAlive } from "../src/core/process_identity.ts";
import { cmcs, PROJECT_DIR } from "./helpers/cli.ts";
import { directive } from "./helpers/fake_codex.ts";
import { brokerOnHangingTicket } from "./helpers/broker.ts";
import { testProject } from "./helpers/project.ts";
import { gitIn, tempDir, tempRepo } from "./helpers/repo.ts";
import { runs, until } from "./helpers/runs.ts";

Deno.test("brief prints nothing and exits 0 in a repository without .cmcs/", async () => {
  await using repo = await tempRepo();
  const text = await cmcs(["brief"], { cwd: repo.path });
  assert.deepEqual(text, { code: 0, stdout: "", stderr: "" });
  const json = await cmcs(["brief", "--json"], { cwd: repo.path });
  assert.equal(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout), null);
});

Deno.test("brief of an initialized repository without a database yet creates none", async () => {
  await using p = await testProject();
  const dbPath = join(p.path, ".cmcs/cmcs.db");
  for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(dbPath + suffix).catch(() => {});
  const out = await p.cmcs(["brief"]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /0 running, 0 finished tickets awaiting review, 0 failed runs/);
  await assert.rejects(Deno.stat(dbPath), Deno.errors.NotFound);
});

Deno.test("brief lists the finished tickets awaiting review and the failure the run ended on, with the next commands", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Works", agent: "codex", done: false });
  await p.ticket(
    "TICKET-002.md",
    { title: "Breaks", agent: "codex", done: false },
    directive("fail", "the compiler is missing"),
  );
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 1, run.stdout + run.stderr);

  const out = await p.cmcs(["brief"]);
  assert.equal(out.code, 0, out.stderr);
  const lines = out.stdout.trim().split("\n");
  assert.match(lines[0], /0 running, 1 finished ticket awaiting review, 1 failed run$/);
  assert.match(
    lines[1],
    /^finished: TICKET-001 at \. \(run 1\); review: `cmcs result \. TICKET-001`, accept: `cmcs accept \. TICKET-001`$/,
  );
  assert.match(
    lines[2],
    /^failed: run 1 at \. on TICKET-002 \(worker_failed\): .*the compiler is missing.*; see `cmcs result \. TICKET-002`$/,
  );

  const json = JSON.parse((await p.cmcs(["brief", "--json"])).stdout);
  assert.deepEqual(
    json.finished.map((t: { ticket: string; state: string }) => [t.ticket, t.state]),
    [["TICKET-001", "awaiting_review"]],
  );
  assert.equal(json.failed[0].ticket, "TICKET-002");
  assert.equal(json.failed[0].outcome, "worker_failed");
});

Deno.test("brief on an empty Deno cache fetches no npm package: the session-start hook of a first session waits for no download", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Works", agent: "codex", done: false });
  assert.equal((await p.cmcs(["run"])).code, 0);
  await using cache = await tempDir();
  const out = await p.cmcs(["brief"], { env: { DENO_DIR: cache.path } });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /1 finished ticket awaiting review/);
  const fetched: string[] = [];
  try {
    for await (const entry of Deno.readDir(join(cache.path, "npm"))) fetched.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  assert.deepEqual(fetched, [], "npm packages fetched for brief");
});

Deno.test("brief from a subdirectory names targets by paths that work from there", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Works", agent: "codex", done: false });
  assert.equal((await p.cmcs(["run"])).code, 0);
  await Deno.mkdir(join(p.path, "src"));
  const out = await p.cmcs(["brief"], { cwd: join(p.path, "src") });
  assert.match(out.stdout, /review: `cmcs result \.\. TICKET-001`/);
});

Deno.test("brief reports a run whose broker died without interrupting it or ending its worker", async () => {
  await using p = await testProject();
  await using running = await brokerOnHangingTicket(p);
  const { broker, attempt } = running;
  const live = await p.cmcs(["brief"]);
  assert.match(live.stdout, /1 running/);
  assert.match(
    live.stdout,
    /running: run 1 at \. on TICKET-001 \(0 done, .*\); wait: `cmcs wait \.`/,
  );

  broker.kill("SIGKILL");
  await broker.status;
  const orphaned = await p.cmcs(["brief"]);
  assert.equal(orphaned.code, 0, orphaned.stderr);
  assert.match(orphaned.stdout, /run 1 at \. on TICKET-001, but its broker is gone/);
  assert.equal(runs(p)[0].status, "running", "the brief changed nothing in the database");
  assert.ok(
    isSameProcessAlive(attempt.worker_pid, attempt.worker_start),
    "the brief ended no process",
  );

  const status = await p.cmcs(["status"]);
  assert.equal(runs(p)[0].status, "interrupted", status.stderr);
  await until(
    "the orphaned worker to be ended by status",
    () => !isSameProcessAlive(attempt.worker_pid, attempt.worker_start),
  );
});

/** Runs the plugin's session-start hook as Claude Code does, from a copy of the plugin if given. */
async function sessionStartHook(
  cwd: string,
  opts: { pluginRoot?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const root = opts.pluginRoot ?? join(PROJECT_DIR, "plugin");
  const out = await new Deno.Command("sh", {
    args: [join(root, "hooks/session_start.sh")],
    cwd,
    env: { CLAUDE_PLUGIN_ROOT: root, CLAUDE_PROJECT_DIR: cwd, ...opts.env },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** PATH without directories that hold a `cmcs`, so the plugin's launcher is what runs. */
function pathWithoutCmcs(): string {
  return (Deno.env.get("PATH") ?? "").split(":").filter((dir) => {
    try {
      return !Deno.statSync(join(dir, "cmcs")).isFile;
    } catch {
      return true;
    }
  }).join(":");
}

Deno.test("the session-start hook prints the brief of the repository, also from a linked worktree", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Works", agent: "codex", done: false });
  assert.equal((await p.cmcs(["run"])).code, 0);
  const env = { ...p.env, PATH: pathWithoutCmcs() };
  const hook = await sessionStartHook(p.path, { env });
  assert.equal(hook.code, 0, hook.stderr);
  assert.match(hook.stdout, /^cmcs \(.*\): 0 running, 1 finished ticket awaiting review/);

  const worktree = join(p.path, "..", `${p.path.split("/").at(-1)}-wt`);
  await gitIn(p.path, "worktree", "add", "-q", "-b", "side", worktree);
  try {
    const fromWorktree = await sessionStartHook(worktree, { env });
    assert.match(fromWorktree.stdout, /finished: TICKET-001 at \.\.\/[^ ]+ \(run 1\)/);
  } finally {
    await gitIn(p.path, "worktree", "remove", "--force", worktree);
  }
});

Deno.test("the session-start hook is silent and exits 0 in a repository without .cmcs/", async () => {
  await using repo = await tempRepo();
  const hook = await sessionStartHook(repo.path, { env: { PATH: pathWithoutCmcs() } });
  assert.deepEqual([hook.code, hook.stdout, hook.stderr], [0, "", ""]);
});

Deno.test("the session-start hook says in one line how to install cmcs when the command cannot be found, and exits 0", async () => {
  await using p = await testProject();
  await using copy = await tempDir("cmcs-plugin-copy-");
  // A plugin copied away from its checkout (as Claude Code caches an installed plugin), with no
  // cmcs on PATH and no marketplace clone in this HOME: nothing can run cmcs.
  await new Deno.Command("cp", { args: ["-R", join(PROJECT_DIR, "plugin"), copy.path] }).output();
  const hook = await sessionStartHook(p.path, {
    pluginRoot: join(copy.path, "plugin"),
    env: {
      PATH: pathWithoutCmcs(),
      HOME: copy.path,
      CLAUDE_CONFIG_DIR: join(copy.path, ".claude"),
    },
  });
  assert.equal(hook.code, 0, hook.stderr);
  const lines = hook.stdout.trim().split("\n");
  assert.equal(lines.length, 1, hook.stdout);
  assert.match(lines[0], /cmcs command is not installed: .*deno task install/);

  const launcher = await new Deno.Command(join(copy.path, "plugin/bin/cmcs"), {
    args: ["brief"],
    cwd: p.path,
    env: {
      PATH: pathWithoutCmcs(),
      HOME: copy.path,
      CLAUDE_CONFIG_DIR: join(copy.path, ".claude"),
    },
  }).output();
  assert.equal(launcher.code, 127);
  assert.match(
    new TextDecoder().decode(launcher.stderr),
    /^error: the cmcs command is not installed\nhint: /,
  );
});

Deno.test("the plugin's cmcs launcher prefers a cmcs already on PATH", async () => {
  await using bin = await tempDir("cmcs-path-");
  await Deno.writeTextFile(join(bin.path, "cmcs"), '#!/bin/sh\necho "installed cmcs: $*"\n');
  await Deno.chmod(join(bin.path, "cmcs"), 0o755);
  const pluginBin = join(PROJECT_DIR, "plugin/bin");
  const out = await new Deno.Command(join(pluginBin, "cmcs"), {
    args: ["brief", "--json"],
    // The plugin's own bin/ comes first, as when two copies of the plugin are loaded.
    env: { PATH: [pluginBin, pathWithoutCmcs(), bin.path].join(":") },
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout), "installed cmcs: brief --json\n");
});
