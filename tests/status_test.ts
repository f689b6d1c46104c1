import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Database } from "../src/core/db/database.ts";
import { createRun, finishRun, getRun, setRunWorker } from "../src/core/db/runs.ts";
import { getAttempt, setAttemptWorker } from "../src/core/db/attempts.ts";
import { registerWorktree } from "../src/core/db/worktrees.ts";
import { queryRunSummaries } from "../src/core/db/status_query.ts";
import type { StatusJsonRun } from "../src/commands/status.ts";
import type { TokenUsage } from "../src/core/db/types.ts";
import { processStartToken } from "../src/core/process_identity.ts";
import { recoverOrphans } from "../src/core/recovery.ts";
import { cmcs } from "./helpers/cli.ts";
import { tempDir, tempRepo } from "./helpers/repo.ts";
import { testProject } from "./helpers/project.ts";
import { addAttempt } from "./helpers/runs.ts";

const SELF = { pid: Deno.pid, start: processStartToken(Deno.pid) };

/** A pid that belonged to a process which has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true", { stdin: "null" }).spawn();
  await child.status;
  return child.pid;
}

async function initRepo(): Promise<{ path: string; db: string } & AsyncDisposable> {
  const repo = await tempRepo();
  const init = await cmcs(["init"], { cwd: repo.path });
  assert.equal(init.code, 0, init.stderr);
  return Object.assign(repo, { db: join(repo.path, ".cmcs", "cmcs.db") });
}

function withDb<T>(path: string, fn: (db: Database) => T): T {
  const db = Database.open(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Token usage of `n` input and `n` output tokens, nothing cached or reasoning. */
function tokens(n: number): TokenUsage {
  return { input_tokens: n, cached_input_tokens: 0, output_tokens: n, reasoning_output_tokens: 0 };
}

function parseRuns(stdout: string): StatusJsonRun[] {
  return JSON.parse(stdout).runs;
}

Deno.test("cmcs status without .cmcs/ exits 1 and says to run cmcs init", async () => {
  await using repo = await tempRepo();
  const result = await cmcs(["status"], { cwd: repo.path });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: cmcs is not initialized in .*\n/);
  assert.match(result.stderr, /hint: .*cmcs init/);
  assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/, "no stack trace");
});

Deno.test("cmcs status on an empty database says there are no runs and how to start one", async () => {
  await using repo = await initRepo();
  const text = await cmcs(["status"], { cwd: repo.path });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^no runs yet\n/);
  assert.match(text.stdout, /cmcs run/);
  const json = await cmcs(["status", "--json"], { cwd: repo.path });
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), {
    project: repo.path,
    runs: [],
    review: { awaiting_review: [], sent_back: [], accepted: 0 },
  });
});

Deno.test("cmcs status lists runs newest first with ticket counts, duration and tokens", async () => {
  await using repo = await initRepo();
  const sub = join(repo.path, "sub");
  await Deno.mkdir(join(sub, ".cmcs"), { recursive: true });
  withDb(repo.db, (db) => {
    registerWorktree(db, sub, "sub");
    const first = createRun(db, repo.path, SELF);
    addAttempt(db, first.id, "TICKET-001.md", "done", { usage: tokens(500) });
    addAttempt(db, first.id, "TICKET-002.md", "worker_failed", { usage: tokens(100) });
    addAttempt(db, first.id, "TICKET-002.md", "done", { usage: tokens(1000) });
    addAttempt(db, first.id, "TICKET-003.md", "worker_failed", { usage: tokens(0) });
    db.run(
      "UPDATE runs SET started_at = '2026-01-01T10:00:00.000Z' WHERE id = ?",
      first.id,
    );
    finishRun(db, first.id, "failed", "TICKET-003.md failed");
    db.run(
      "UPDATE runs SET finished_at = '2026-01-01T10:03:05.000Z' WHERE id = ?",
      first.id,
    );
    const second = createRun(db, sub, SELF);
    addAttempt(db, second.id, "TICKET-001.md", null);
    setRunWorker(db, second.id, null, "TICKET-001.md");
  });

  const json = await cmcs(["status", "--json"], { cwd: repo.path });
  assert.equal(json.code, 0, json.stderr);
  const runs = parseRuns(json.stdout);
  assert.deepEqual(runs.map((r) => [r.id, r.status, r.target]), [
    [2, "running", "sub"],
    [1, "failed", "."],
  ]);
  assert.deepEqual(Object.keys(runs[1]), [
    "id",
    "target",
    "status",
    "started_at",
    "duration_s",
    "tickets",
    "tokens",
    "branch",
    "message",
  ]);
  assert.deepEqual(runs[1].tickets, { started: 3, done: 2, failed: 1, awaiting_review: 2 });
  assert.equal(runs[1].tokens, 3200);
  assert.equal(runs[1].duration_s, 185);
  assert.equal(runs[1].branch, "main");
  assert.equal(runs[1].message, "TICKET-003.md failed");
  assert.equal(runs[0].ticket, "TICKET-001");
  assert.deepEqual(runs[0].tickets, { started: 1, done: 0, failed: 0, awaiting_review: 0 });

  const text = await cmcs(["status"], { cwd: repo.path });
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trimEnd().split("\n");
  assert.match(
    lines[0],
    /^ID\s+STATUS\s+TARGET\s+TICKET\s+STARTED\s+DONE\s+FAILED\s+REVIEW\s+DURATION\s+TOKENS\s+STARTED_AT$/,
  );
  assert.match(
    lines[1],
    /^2\s+running\s+sub\s+TICKET-001\.md\s+1\s+0\s+0\s+0\s+\S+\s+-\s+\d{4}-/,
  );
  assert.match(
    lines[2],
    /^1\s+failed\s+\.\s+-\s+3\s+2\s+1\s+2\s+3m05s\s+3\.2k\s+2026-01-01T10:00:00Z$/,
  );
  // Columns line up: every row starts its STATUS cell where the header's does.
  const col = lines[0].indexOf("STATUS");
  for (const line of lines.slice(1, 3)) assert.match(line.slice(col), /^(running|failed)/);
  // The target whose newest run failed says why, under the table.
  assert.deepEqual(lines.slice(3), [
    "run 1 failed: TICKET-003.md failed",
    "awaiting review at .: TICKET-001.md, TICKET-002.md; review: `cmcs result . TICKET-001.md`, " +
    "accept: `cmcs accept . TICKET-001.md TICKET-002.md`",
  ]);
});

Deno.test("cmcs status filters by path, --active and --latest", async () => {
  await using repo = await initRepo();
  // A target of its own (it has its own .cmcs/), like a worktree or a monorepo package.
  const other = join(repo.path, "other");
  await Deno.mkdir(join(other, ".cmcs"), { recursive: true });
  withDb(repo.db, (db) => {
    registerWorktree(db, other, "other");
    finishRun(db, createRun(db, repo.path, SELF).id, "completed"); // 1
    finishRun(db, createRun(db, other, SELF).id, "failed"); // 2
    finishRun(db, createRun(db, repo.path, SELF).id, "stopped"); // 3
    createRun(db, other, SELF); // 4, running
  });
  const ids = async (...args: string[]) => {
    const result = await cmcs(["status", "--json", ...args], { cwd: repo.path });
    assert.equal(result.code, 0, result.stderr);
    return parseRuns(result.stdout).map((r) => r.id);
  };
  assert.deepEqual(await ids(), [4, 3, 2, 1]);
  assert.deepEqual(await ids("other"), [4, 2]);
  assert.deepEqual(await ids("."), [3, 1]);
  assert.deepEqual(await ids("--active"), [4]);
  assert.deepEqual(await ids("--latest"), [4, 3]);
  assert.deepEqual(await ids(".", "--active"), []);
  assert.deepEqual(await ids("--limit", "2"), [4, 3]);

  const none = await cmcs(["status", ".", "--active"], { cwd: repo.path });
  assert.match(none.stdout, /^no running runs for \.\n/);
  const missing = await cmcs(["status", "nowhere"], { cwd: repo.path });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error: no such directory: nowhere/);
  const bad = await cmcs(["status", "--limit", "0"], { cwd: repo.path });
  assert.equal(bad.code, 2);
});

/**
 * Fills a database with 10,000 runs over 20 targets, 30,000 attempts and 50,000 events in one
 * transaction. Run i: TICKET-A done; TICKET-B fails, then is retried done (i % 3 = 0), retried
 * and fails again (i % 3 = 1), or not retried (i % 3 = 2). Each attempt has 1,000 input and 100
 * output tokens. The newest 10 runs are running under this (live) test process.
 */
function buildLargeDb(path: string, targets: string[]): void {
  withDb(path, (db) => {
    for (const [i, target] of targets.entries()) registerWorktree(db, target, `t${i}`);
  });
  const raw = new DatabaseSync(path);
  raw.exec("PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE");
  const insertRun = raw.prepare(
    `INSERT INTO runs (id, worktree, started_at, finished_at, status, broker_pid, broker_start)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertAttempt = raw.prepare(
    `INSERT INTO attempts (run_id, ticket, number, started_at, finished_at, outcome, input_tokens,
       cached_input_tokens, output_tokens, reasoning_output_tokens)
     VALUES (?, ?, ?, ?, ?, ?, 1000, 0, 100, 0)`,
  );
  const insertEvent = raw.prepare(
    "INSERT INTO events (run_id, ticket, event, timestamp) VALUES (?, ?, ?, ?)",
  );
  const base = Date.parse("2026-01-01T00:00:00Z");
  for (let i = 1; i <= 10_000; i++) {
    const start = new Date(base + i * 60_000).toISOString();
    const end = new Date(base + i * 60_000 + 30_000).toISOString();
    const running = i > 9_990;
    insertRun.run(
      i,
      targets[i % targets.length],
      start,
      running ? null : end,
      running ? "running" : ["completed", "failed", "stopped"][i % 3],
      running ? SELF.pid : 1_000_000 + i,
      running ? SELF.start : "0",
    );
    insertAttempt.run(i, "TICKET-A", 1, start, end, "done");
    insertAttempt.run(i, "TICKET-B", 1, start, end, "context_limit");
    if (i % 3 !== 2) {
      insertAttempt.run(i, "TICKET-B", 2, start, end, i % 3 ? "worker_failed" : "done");
    }
    for (const event of ["run_started", "started", "completed", "started", "failed"]) {
      insertEvent.run(i, "TICKET-A", event, start);
    }
  }
  raw.exec("COMMIT");
  raw.close();
}

function expectedCounts(i: number) {
  return {
    tickets: { started: 2, done: i % 3 === 0 ? 2 : 1, failed: i % 3 === 0 ? 0 : 1 },
    total: (i % 3 === 2 ? 2 : 3) * 1100,
  };
}

Deno.test("cmcs status on a 10,000-run database pages, filters and counts correctly", async () => {
  await using repo = await initRepo();
  const targets: string[] = [];
  for (let t = 0; t < 20; t++) {
    const dir = join(repo.path, "wt", `t${t}`);
    await Deno.mkdir(join(dir, ".cmcs"), { recursive: true });
    targets.push(dir);
  }
  buildLargeDb(repo.db, targets);
  withDb(repo.db, (db) => {
    assert.equal(db.get<{ n: number }>("SELECT COUNT(*) AS n FROM events")?.n, 50_000);
    const started = performance.now();
    const page = queryRunSummaries(db, { limit: 20 });
    const latest = queryRunSummaries(db, { limit: 100, latest: true });
    const target = queryRunSummaries(db, { limit: 20, target: targets[7] });
    console.log(
      `    queryRunSummaries x3 on 10,000 runs: ${(performance.now() - started).toFixed(1)} ms`,
    );
    assert.deepEqual(page.map((r) => r.id), Array.from({ length: 20 }, (_, k) => 10_000 - k));
    assert.equal(latest.length, 20);
    assert.deepEqual(target.map((r) => r.id % 20), Array(20).fill(7));
    const deep = queryRunSummaries(db, { limit: 3, offset: 5_000 });
    assert.deepEqual(deep.map((r) => r.id), [5_000, 4_999, 4_998]);
    for (const run of [...page, ...deep]) {
      const expected = expectedCounts(run.id);
      assert.deepEqual(run.tickets, expected.tickets, `run ${run.id}`);
      assert.equal(run.tokens.total, expected.total, `run ${run.id}`);
    }
  });

  const started = performance.now();
  const result = await cmcs(["status", "--json", "--limit", "5"], { cwd: repo.path });
  console.log(
    `    cmcs status --json on 10,000 runs: ${(performance.now() - started).toFixed(0)} ms`,
  );
  assert.equal(result.code, 0, result.stderr);
  const runs = parseRuns(result.stdout);
  assert.deepEqual(runs.map((r) => r.id), [10_000, 9_999, 9_998, 9_997, 9_996]);
  assert.ok(runs.every((r) => r.status === "running"), "live brokers stay running");
  for (const run of runs) {
    const { awaiting_review: _, ...counts } = run.tickets;
    assert.deepEqual(counts, expectedCounts(run.id).tickets);
  }

  const latest = await cmcs(["status", "--json", "--latest", "--limit", "100"], { cwd: repo.path });
  assert.deepEqual(
    parseRuns(latest.stdout).map((r) => r.id),
    Array.from({ length: 20 }, (_, k) => 10_000 - k),
  );
  const active = await cmcs(["status", "--json", "--active", "--limit", "100"], { cwd: repo.path });
  assert.equal(parseRuns(active.stdout).length, 10);
  const one = await cmcs(["status", "wt/t3", "--json", "--limit", "3"], { cwd: repo.path });
  assert.deepEqual(parseRuns(one.stdout).map((r) => r.id), [9_983, 9_963, 9_943]);

  const text = await cmcs(["status", "--limit", "3"], { cwd: repo.path });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^10000\s+running\s+wt\/t0\s/m);
  assert.match(text.stdout, /9997 older run\(s\) not shown/);
});

Deno.test("cmcs status marks a run whose broker died interrupted and leaves live brokers alone", async () => {
  await using repo = await initRepo();
  const gone = await deadPid();
  const ids = withDb(repo.db, (db) => {
    const dead = createRun(db, repo.path, { pid: gone, start: "12345" });
    const attempt = addAttempt(db, dead.id, "TICKET-001.md", null);
    setRunWorker(db, dead.id, gone, "TICKET-001.md");
    finishRun(db, createRun(db, join(repo.path), SELF).id, "completed");
    // A live pid with another start time: the OS reused the broker's pid.
    const reused = createRun(db, repo.path, { pid: Deno.pid, start: "not-this-process" });
    // Broker alive, worker long gone: the broker is between tickets. Never interrupted.
    const live = createRun(db, repo.path, SELF);
    addAttempt(db, live.id, "TICKET-001.md", "done", { usage: tokens(0) });
    setRunWorker(db, live.id, gone, null);
    return { dead: dead.id, attempt, reused: reused.id, live: live.id };
  });

  const result = await cmcs(["status", "--json"], { cwd: repo.path });
  assert.equal(result.code, 0, result.stderr);
  const runs = new Map(parseRuns(result.stdout).map((r) => [r.id, r]));
  assert.equal(runs.get(ids.dead)?.status, "interrupted");
  assert.equal(runs.get(ids.dead)?.message, `broker process ${gone} is gone`);
  assert.deepEqual(runs.get(ids.dead)?.tickets, {
    started: 1,
    done: 0,
    failed: 1,
    awaiting_review: 0,
  });
  assert.equal(runs.get(ids.reused)?.status, "interrupted");
  assert.equal(runs.get(ids.live)?.status, "running");
  assert.match(result.stderr, new RegExp(`run ${ids.dead} is now interrupted`));

  withDb(repo.db, (db) => {
    const attempt = getAttempt(db, ids.attempt)!;
    assert.equal(attempt.outcome, "worker_failed");
    assert.equal(attempt.message, "interrupted: the broker died");
    assert.ok(getRun(db, ids.dead)?.finished_at);
  });

  // Polling again changes nothing.
  const again = await cmcs(["status", "--json"], { cwd: repo.path });
  assert.equal(parseRuns(again.stdout).find((r) => r.id === ids.live)?.status, "running");
  assert.equal(again.stderr, "");
});

Deno.test("recoverOrphans() ends the process tree a dead broker's worker left behind", async () => {
  await using dir = await tempDir();
  const token = crypto.randomUUID();
  const spawnSleep = () =>
    new Deno.Command("sleep", {
      args: ["300"],
      env: { CMCS_ATTEMPT_ID: token },
      stdin: "null",
    }).spawn();
  const worker = spawnSleep();
  // A command the worker started that was re-parented: found only by its token.
  const stray = spawnSleep();
  const bystander = new Deno.Command("sleep", { args: ["300"], stdin: "null" }).spawn();
  try {
    const gone = await deadPid();
    const db = Database.open(join(dir.path, "cmcs.db"));
    try {
      registerWorktree(db, "/repo", "main");
      const run = createRun(db, "/repo", { pid: gone, start: "12345" });
      const attempt = addAttempt(db, run.id, "TICKET-001.md", null);
      setAttemptWorker(db, attempt, {
        pid: worker.pid,
        start: processStartToken(worker.pid),
        token,
      });
      const recovered = await recoverOrphans(db);
      assert.deepEqual(recovered, [{
        run_id: run.id,
        target: "/repo",
        ticket: "TICKET-001.md",
        broker_pid: gone,
        killed_workers: [worker.pid],
        errors: [],
        settled: [],
      }]);
      assert.equal((await worker.status).success, false);
      assert.equal((await stray.status).success, false);
      assert.ok(processStartToken(bystander.pid), "an unrelated process is left alone");
      assert.equal(getRun(db, run.id)?.status, "interrupted");
      assert.deepEqual(await recoverOrphans(db), []);
    } finally {
      db.close();
    }
  } finally {
    for (const child of [worker, stray, bystander]) {
      try {
        child.kill("SIGKILL");
      } catch { /* already ended */ }
      await child.status;
    }
  }
});

Deno.test("cmcs status from a subdirectory of the checkout filters on the whole checkout", async () => {
  await using repo = await initRepo();
  withDb(repo.db, (db) => {
    finishRun(db, createRun(db, repo.path, SELF).id, "completed");
  });
  const src = join(repo.path, "src", "deep");
  await Deno.mkdir(src, { recursive: true });
  const result = await cmcs(["status", ".", "--json"], { cwd: src });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(parseRuns(result.stdout).map((r) => r.id), [1]);
});

Deno.test("a damaged database is one clear error with a way out, never a stack trace", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "One", agent: "codex", done: false });
  assert.equal((await p.cmcs(["run"])).code, 0);
  const path = join(p.path, ".cmcs/cmcs.db");
  // The header stays, the pages after it are garbage: SQLite opens it and fails on the first read.
  const bytes = await Deno.readFile(path);
  const noise = new Uint8Array(bytes.length - 100).map((_, i) => (i * 7919 + 13) % 251);
  bytes.set(noise, 100);
  await Deno.writeFile(path, bytes);
  for (const args of [["status"], ["result", "."], ["worktree", "list"]]) {
    const result = await p.cmcs(args);
    assert.equal(result.code, 1, `${args.join(" ")}: ${result.stderr}`);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, result.stderr);
    assert.match(lines[0], /^error: the cmcs database .*cmcs\.db is damaged: /);
    assert.match(
      lines[1],
      /^hint: move it aside \(mv .*cmcs\.db .*cmcs\.db\.damaged\) and run `cmcs init`/,
    );
  }
});
