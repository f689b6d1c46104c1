import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import { Database } from "../src/core/db/database.ts";
import { createRun, finishRun } from "../src/core/db/runs.ts";
import { listWorktrees, registerWorktree } from "../src/core/db/worktrees.ts";
import type { StatusJsonRun } from "../src/commands/status.ts";
import { cmcs } from "./helpers/cli.ts";
import { gitIn, tempDir, tempRepo } from "./helpers/repo.ts";

async function isDir(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => null))?.isDirectory ?? false;
}

Deno.test("cmcs init creates .cmcs/ once and says so; a second init changes nothing", async () => {
  await using repo = await tempRepo();
  const cmcsDir = join(repo.path, ".cmcs");
  const first = await cmcs(["init"], { cwd: repo.path });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`created ${cmcsDir}/tickets/`));
  assert.match(first.stdout, new RegExp(`created ${cmcsDir}/logs/`));
  assert.match(first.stdout, new RegExp(`created ${cmcsDir}/\\.gitignore`));
  assert.match(first.stdout, new RegExp(`created ${cmcsDir}/cmcs\\.db`));
  assert.match(first.stdout, new RegExp(`initialized cmcs in ${cmcsDir}\n$`));
  assert.ok(await isDir(join(cmcsDir, "tickets")));
  assert.ok(await isDir(join(cmcsDir, "logs")));
  assert.equal(
    await Deno.readTextFile(join(cmcsDir, ".gitignore")),
    "cmcs.db\ncmcs.db-*\nlogs/\n",
  );

  const second = await cmcs(["init"], { cwd: repo.path });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, `already initialized: ${cmcsDir}\n`);

  const db = Database.open(join(cmcsDir, "cmcs.db"));
  try {
    assert.deepEqual(
      listWorktrees(db).map((w) => [w.path, w.branch, w.status]),
      [[repo.path, "main", "active"]],
    );
    // With the database open (WAL and SHM files present), a ticket and a log file written:
    // git sees the ticket and the .gitignore, never the database or the logs.
    await Deno.writeTextFile(join(cmcsDir, "tickets", "TICKET-001.md"), "---\ntitle: x\n---\n");
    await Deno.mkdir(join(cmcsDir, "logs", "1"));
    await Deno.writeTextFile(join(cmcsDir, "logs", "1", "TICKET-001.jsonl"), "{}\n");
    await Deno.writeTextFile(join(cmcsDir, "config.yml"), "codex: {}\n");
    const status = await gitIn(repo.path, "status", "--porcelain", "--untracked-files=all");
    assert.deepEqual(status.trim().split("\n").sort(), [
      "?? .cmcs/.gitignore",
      "?? .cmcs/config.yml",
      "?? .cmcs/tickets/TICKET-001.md",
    ]);
    assert.ok(await Deno.stat(join(cmcsDir, "cmcs.db-wal")), "the WAL file exists and is ignored");
  } finally {
    db.close();
  }
});

Deno.test("cmcs init keeps an existing .gitignore and a database with history", async () => {
  await using repo = await tempRepo();
  const cmcsDir = join(repo.path, ".cmcs");
  await Deno.mkdir(cmcsDir);
  await Deno.writeTextFile(join(cmcsDir, ".gitignore"), "cmcs.db*\n# mine\n");
  const db = Database.open(join(cmcsDir, "cmcs.db"));
  registerWorktree(db, repo.path, "main");
  finishRun(db, createRun(db, repo.path, { pid: 999_999_999, start: null }).id, "completed");
  db.close();

  const result = await cmcs(["init"], { cwd: repo.path });
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stdout, /gitignore|cmcs\.db/);
  assert.match(result.stdout, /created .*\/tickets\//);
  assert.equal(await Deno.readTextFile(join(cmcsDir, ".gitignore")), "cmcs.db*\n# mine\n");
  const status = await cmcs(["status", "--json"], { cwd: repo.path });
  assert.equal(JSON.parse(status.stdout).runs.length, 1);
});

Deno.test("cmcs init outside git initializes the current directory", async () => {
  await using dir = await tempDir();
  const env = { GIT_CEILING_DIRECTORIES: dirname(dir.path) };
  const result = await cmcs(["init"], { cwd: dir.path, env });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(await isDir(join(dir.path, ".cmcs", "tickets")));
  const db = Database.open(join(dir.path, ".cmcs", "cmcs.db"));
  try {
    assert.deepEqual(listWorktrees(db).map((w) => [w.path, w.branch]), [[
      dir.path,
      basename(dir.path),
    ]]);
  } finally {
    db.close();
  }
  const status = await cmcs(["status"], { cwd: dir.path, env });
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^no runs yet/);
});

Deno.test("cmcs init inside a linked worktree initializes the main checkout, and status there reads it", async () => {
  await using repo = await tempRepo();
  await using outside = await tempDir("cmcs-wt-");
  const wt = join(outside.path, "feat");
  await gitIn(repo.path, "worktree", "add", "-q", "-b", "feat", wt);

  const result = await cmcs(["init"], { cwd: wt });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    new RegExp(`${wt} is a linked worktree; .*main checkout ${repo.path}`),
  );
  assert.match(result.stdout, new RegExp(`initialized cmcs in ${repo.path}/\\.cmcs`));
  assert.ok(await isDir(join(repo.path, ".cmcs", "tickets")));
  assert.equal(await isDir(join(wt, ".cmcs")), false, "no state in the linked worktree");

  const db = Database.open(join(repo.path, ".cmcs", "cmcs.db"));
  try {
    registerWorktree(db, wt, "feat");
    finishRun(db, createRun(db, repo.path, { pid: 999_999_999, start: null }).id, "completed");
    finishRun(db, createRun(db, wt, { pid: 999_999_999, start: null }).id, "failed");
  } finally {
    db.close();
  }
  const runs = async (args: string[], cwd: string) => {
    const status = await cmcs(["status", "--json", ...args], { cwd });
    assert.equal(status.code, 0, status.stderr);
    return (JSON.parse(status.stdout).runs as StatusJsonRun[]).map((r) => [r.id, r.target]);
  };
  // status --json names targets as the text does: relative to the root, absolute outside it.
  assert.deepEqual(await runs([], wt), [[2, wt], [1, "."]]);
  assert.deepEqual(await runs(["."], wt), [[2, wt]]);
  assert.deepEqual(await runs([wt], repo.path), [[2, wt]]);
  const text = await cmcs(["status"], { cwd: wt });
  assert.match(
    text.stdout,
    new RegExp(`^2\\s+failed\\s+${wt}\\s`, "m"),
    "outside the root: absolute",
  );
});

Deno.test("cmcs init fails with a clear error when .cmcs, its tickets or its logs is a file", async () => {
  for (const stray of [".cmcs", ".cmcs/tickets", ".cmcs/logs"]) {
    await using repo = await tempRepo();
    await Deno.mkdir(join(repo.path, ".cmcs"), { recursive: true });
    if (stray === ".cmcs") await Deno.remove(join(repo.path, ".cmcs"));
    await Deno.writeTextFile(join(repo.path, stray), "oops");
    const result = await cmcs(["init"], { cwd: repo.path });
    assert.equal(result.code, 1, stray);
    assert.equal(
      result.stderr,
      `error: ${join(repo.path, stray)} exists and is not a directory\n` +
        "hint: move or remove it, then run `cmcs init` again\n",
    );
    assert.equal(await Deno.readTextFile(join(repo.path, stray)), "oops", "nothing lost");
    assert.equal(await Deno.stat(join(repo.path, ".cmcs/cmcs.db")).catch(() => null), null);
  }
});

Deno.test("cmcs init inside .git initializes the repository itself; a bare repository is refused", async () => {
  await using repo = await tempRepo();
  const inside = await cmcs(["init"], { cwd: join(repo.path, ".git", "refs") });
  assert.equal(inside.code, 0, inside.stderr);
  await Deno.stat(join(repo.path, ".cmcs/cmcs.db"));
  assert.equal(await Deno.stat(join(repo.path, ".git/.cmcs")).catch(() => null), null);

  await using dir = await tempDir();
  const bare = join(dir.path, "bare.git");
  await gitIn(dir.path, "init", "-q", "--bare", bare);
  for (const args of [["init"], ["status"]]) {
    const result = await cmcs(args, { cwd: bare });
    assert.equal(result.code, 1, `${args}: ${result.stderr}`);
    assert.equal(
      result.stderr,
      `error: ${await Deno.realPath(
        bare,
      )} is a bare git repository: cmcs needs a checkout to work in\n` +
        "hint: run cmcs in a clone or a worktree of it\n",
    );
  }
  assert.equal(await Deno.stat(join(bare, ".cmcs")).catch(() => null), null, "nothing created");
});
