import assert from "node:assert/strict";
import { join } from "node:path";
import { isSameProcessAlive } from "../src/core/process_identity.ts";
import { cmcs, cmcsEntry, PERMISSION_FLAGS } from "./helpers/cli.ts";
import { directive } from "./helpers/fake_codex.ts";
import { testProject } from "./helpers/project.ts";
import { tempRepo } from "./helpers/repo.ts";
import { attempts, runs, until } from "./helpers/runs.ts";

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
    /^finished: TICKET-001 at \. \(run 1\); review: `cmcs result \. TICKET-001`$/,
  );
  assert.match(
    lines[2],
    /^failed: run 1 at \. on TICKET-002 \(worker_failed\): .*the compiler is missing.*; see `cmcs result \. TICKET-002`$/,
  );

  const json = JSON.parse((await p.cmcs(["brief", "--json"])).stdout);
  assert.deepEqual(
    json.finished.map((t: { ticket: string; state: string }) => [t.ticket, t.state]),
    [["TICKET-001", "finished"]],
  );
  assert.equal(json.failed[0].ticket, "TICKET-002");
  assert.equal(json.failed[0].outcome, "worker_failed");
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
  await p.ticket(
    "TICKET-001.md",
    { title: "Hangs", agent: "codex", done: false },
    directive("hang"),
  );
  const broker = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSION_FLAGS, cmcsEntry(), "run"],
    cwd: p.path,
    env: { NO_COLOR: "1", ...p.env },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  try {
    const attempt = await until("the worker to start", () => {
      const [first] = attempts(p);
      return first?.worker_pid && first.thread_id ? first : undefined;
    });
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
  } finally {
    try {
      broker.kill("SIGKILL");
    } catch { /* already gone */ }
    await broker.status;
  }
});
