import assert from "node:assert/strict";
import { join } from "node:path";
import { Database } from "../src/core/db/database.ts";
import { createRun, finishRun } from "../src/core/db/runs.ts";
import { archiveWorktree, listWorktrees, registerWorktree } from "../src/core/db/worktrees.ts";
import { processStartToken } from "../src/core/process_identity.ts";
import { cmcs } from "./helpers/cli.ts";
import { tempRepo } from "./helpers/repo.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const DEAD = { pid: 999_999_999, start: null };

function daysAgo(days: number): string {
  return new Date(Date.now() - days * DAY_MS).toISOString();
}

async function logDir(logs: string, name: string, ageDays = 0): Promise<string> {
  const dir = join(logs, name);
  await Deno.mkdir(dir, { recursive: true });
  const file = join(dir, "TICKET-001.jsonl");
  await Deno.writeTextFile(file, "{}\n");
  // Always set: a new file's mtime is the kernel's clock, which need not be the one cmcs reads.
  const when = new Date(Date.now() - ageDays * DAY_MS);
  await Deno.utime(file, when, when);
  await Deno.utime(dir, when, when);
  return dir;
}

async function exists(path: string): Promise<boolean> {
  return (await Deno.lstat(path).catch(() => null)) !== null;
}

async function cleanJson(cwd: string, ...args: string[]) {
  const result = await cmcs(["clean", "--json", ...args], { cwd });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as {
    removed_log_dirs: string[];
    removed_log_files: string[];
    purged_worktrees: string[];
    dry_run: boolean;
  };
}

Deno.test("cmcs clean deletes old finished runs' logs and never a running run's", async () => {
  await using repo = await tempRepo();
  assert.equal((await cmcs(["init"], { cwd: repo.path })).code, 0);
  const logs = join(repo.path, ".cmcs", "logs");
  const db = Database.open(join(repo.path, ".cmcs", "cmcs.db"));
  try {
    const old = createRun(db, repo.path, DEAD).id;
    finishRun(db, old, "completed");
    db.run(
      "UPDATE runs SET started_at = ?, finished_at = ? WHERE id = ?",
      daysAgo(41),
      daysAgo(40),
      old,
    );
    const recent = createRun(db, repo.path, DEAD).id;
    finishRun(db, recent, "failed");
    db.run("UPDATE runs SET finished_at = ? WHERE id = ?", daysAgo(2), recent);
    // Started 100 days ago and still going, under this live test process as its broker.
    const running = createRun(db, repo.path, {
      pid: Deno.pid,
      start: processStartToken(Deno.pid),
    }).id;
    db.run("UPDATE runs SET started_at = ? WHERE id = ?", daysAgo(100), running);
    assert.deepEqual([old, recent, running], [1, 2, 3]);
  } finally {
    db.close();
  }
  // Log directories are old on disk too: only the database decides for known runs.
  const dirs = {
    old: await logDir(logs, "1", 40),
    recent: await logDir(logs, "2", 50),
    running: await logDir(logs, "3", 100),
    strayOld: await logDir(logs, "stray", 60),
    strayNew: await logDir(logs, "999"),
  };
  await Deno.writeTextFile(join(logs, "notes.txt"), "not a run\n");

  const dry = await cleanJson(repo.path, "--dry-run");
  assert.deepEqual(dry, {
    removed_log_dirs: [dirs.old, dirs.strayOld],
    removed_log_files: [],
    purged_worktrees: [],
    dry_run: true,
  });
  for (const dir of Object.values(dirs)) assert.ok(await exists(dir), `dry run keeps ${dir}`);

  const text = await cmcs(["clean"], { cwd: repo.path });
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stdout, "removed 2 log directories older than 30 day(s)\n");
  assert.equal(await exists(dirs.old), false);
  assert.equal(await exists(dirs.strayOld), false);
  for (const dir of [dirs.recent, dirs.running, dirs.strayNew]) assert.ok(await exists(dir));

  const all = await cleanJson(repo.path, "--logs-days", "0");
  assert.deepEqual(all.removed_log_dirs, [dirs.recent, dirs.strayNew]);
  assert.ok(await exists(dirs.running), "a running run's logs survive --logs-days 0");
  assert.ok(await exists(join(logs, "notes.txt")));

  const nothing = await cmcs(["clean", "--logs-days", "0"], { cwd: repo.path });
  assert.equal(nothing.stdout, "removed 0 log directories older than 0 day(s)\n");
});

Deno.test("cmcs clean --purge-archived deletes archived worktree records that have no runs", async () => {
  await using repo = await tempRepo();
  assert.equal((await cmcs(["init"], { cwd: repo.path })).code, 0);
  const path = join(repo.path, ".cmcs", "cmcs.db");
  const db = Database.open(path);
  try {
    for (const wt of ["/wt/gone", "/wt/with-runs", "/wt/active"]) registerWorktree(db, wt, "b");
    finishRun(db, createRun(db, "/wt/with-runs", DEAD).id, "completed");
    archiveWorktree(db, "/wt/gone");
    archiveWorktree(db, "/wt/with-runs");
  } finally {
    db.close();
  }
  const paths = () => {
    const db = Database.open(path);
    try {
      return listWorktrees(db, { includeArchived: true }).map((w) => w.path);
    } finally {
      db.close();
    }
  };

  const dry = await cleanJson(repo.path, "--purge-archived", "--dry-run");
  assert.deepEqual(dry.purged_worktrees, ["/wt/gone"]);
  assert.ok(paths().includes("/wt/gone"));

  const text = await cmcs(["clean", "--purge-archived"], { cwd: repo.path });
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /^purged 1 archived worktree record\(s\); kept 1 that still have runs$/m,
  );
  assert.deepEqual(paths(), [repo.path, "/wt/active", "/wt/with-runs"]);
});

Deno.test("cmcs clean without .cmcs/ exits 1 with a hint to run cmcs init", async () => {
  await using repo = await tempRepo();
  const result = await cmcs(["clean"], { cwd: repo.path });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /error: cmcs is not initialized/);
  assert.match(result.stderr, /hint: .*cmcs init/);
});

Deno.test("cmcs clean deletes old detached-broker logs but not one a live run may still write", async () => {
  await using repo = await tempRepo();
  assert.equal((await cmcs(["init"], { cwd: repo.path })).code, 0);
  const logs = join(repo.path, ".cmcs", "logs");
  const brokerLog = async (name: string, ageDays: number) => {
    const path = join(logs, name);
    await Deno.writeTextFile(path, "run 1 started\n");
    const when = new Date(Date.now() - ageDays * DAY_MS);
    await Deno.utime(path, when, when);
    return path;
  };
  const ancient = await brokerLog("broker-2026-01-01T00-00-00.log", 40);
  const lastWeek = await brokerLog("broker-2026-11-17T00-00-00.log", 7);
  const current = await brokerLog("broker-2026-11-24T00-00-00.log", 0);

  assert.deepEqual((await cleanJson(repo.path)).removed_log_files, [ancient]);

  const db = Database.open(join(repo.path, ".cmcs", "cmcs.db"));
  try {
    const running = createRun(db, repo.path, { pid: Deno.pid, start: processStartToken(Deno.pid) });
    db.run("UPDATE runs SET started_at = ? WHERE id = ?", daysAgo(1), running.id);
  } finally {
    db.close();
  }
  assert.deepEqual((await cleanJson(repo.path, "--logs-days", "0")).removed_log_files, [lastWeek]);
  assert.ok(await exists(current), "the log of a broker that may still be running is kept");
});
