/**
 * Several targets in one broker: `run <path>...`, `run --all`, `run --detach`, `wait --all`, the
 * `run.max_parallel` queue, and the live view — with real worktrees and the stand-in worker.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { liveView } from "../src/cli/live_view.ts";
import type { AttemptRow, EventRow, RunRow } from "../src/core/db/types.ts";
import { Limiter } from "../src/core/runner/parallel.ts";
import { processStartToken } from "../src/core/process_identity.ts";
import { cmcsEntry, PERMISSION_FLAGS } from "./helpers/cli.ts";
import { writeTicket } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { query, until } from "./helpers/runs.ts";

/** Creates worktrees `names` with `count` tickets each (optionally with directives). */
async function worktreesWithTickets(
  p: TestProject,
  names: string[],
  count: number,
  directives: (string | (string | number)[])[] = [],
): Promise<string[]> {
  const paths: string[] = [];
  for (const name of names) {
    const created = await p.cmcs(["worktree", "create", name]);
    assert.equal(created.code, 0, created.stderr);
    const path = join(p.path, "worktrees", ...name.split("/"));
    for (let i = 1; i <= count; i++) {
      const id = String(i).padStart(3, "0");
      await writeTicket(path, `TICKET-${id}.md`, { title: `${name} ${id}`, directives });
    }
    paths.push(path);
  }
  return paths;
}

/** Every log file's text under `.cmcs/logs`, for a search for errors. */
async function allLogs(dir: string): Promise<string> {
  let text = "";
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) text += await allLogs(path);
    else if (entry.isFile && /\.(log|jsonl|json|md)$/.test(entry.name)) {
      text += await Deno.readTextFile(path);
    }
  }
  return text;
}

/** The largest number of intervals open at the same moment. */
function maxOverlap(intervals: [string, string][]): number {
  const points = intervals.flatMap(([start, end]) => [
    [Date.parse(start), 1],
    [Date.parse(end), -1],
  ]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let max = 0;
  for (const [, delta] of points) {
    open += delta;
    max = Math.max(max, open);
  }
  return max;
}

Deno.test("Limiter hands out at most max slots, first come first served", async () => {
  const limiter = new Limiter(2);
  const order: string[] = [];
  let active = 0;
  let peak = 0;
  await Promise.all(["a", "b", "c", "d", "e"].map(async (name, i) => {
    const release = await limiter.acquire();
    active++;
    peak = Math.max(peak, active);
    order.push(name);
    await new Promise((resolve) => setTimeout(resolve, 5 * (5 - i)));
    active--;
    release();
    release(); // a second release changes nothing
  }));
  assert.equal(peak, 2);
  assert.deepEqual(order.slice(0, 2), ["a", "b"]);
  assert.deepEqual([...order].sort(), ["a", "b", "c", "d", "e"]);
  assert.equal(limiter.active, 0);
});

Deno.test("the live view keeps one line per target and redraws it in place", () => {
  let screen = "";
  let now = 0;
  const view = liveView(
    [{ target: "/r/a", label: "worktrees/a" }, { target: "/r/b", label: "worktrees/b" }],
    { write: (text) => screen += text, columns: () => 80 },
    () => now,
  );
  view.queued("/r/b");
  view.progress({ kind: "run_started", runId: 7, target: "/r/a", pending: 3 });
  view.progress({
    kind: "attempt_started",
    runId: 7,
    target: "/r/a",
    ticket: "TICKET-002",
    file: "TICKET-002.md",
    attemptId: 1,
    title: "t",
    number: 1,
    attemptKind: "first",
    model: null,
    effort: null,
  });
  now = 65_000;
  let frame = view.frame();
  assert.equal(frame.length, 3, "a header and one line per target");
  assert.match(frame[1], /^worktrees\/a +running +TICKET-002 +1m05s +0\/3 +1m05s$/);
  assert.match(frame[2], /^worktrees\/b +queued +- +0\/\? +-$/);
  view.progress({
    kind: "ticket_finished",
    runId: 7,
    target: "/r/a",
    ticket: "TICKET-002",
    path: "/r/a/.cmcs/tickets/TICKET-002.md",
    outcome: "done",
    attempts: 1,
    message: null,
  });
  view.progress({
    kind: "run_finished",
    runId: 7,
    target: "/r/a",
    status: "completed",
    message: null,
    recorded: true,
  });
  view.note("a note above the table");
  view.close();
  frame = view.frame();
  assert.match(frame[1], /^worktrees\/a +completed +- +1\/3 +1m05s$/);
  // Redraws move the cursor up over the previous frame instead of scrolling.
  assert.ok(screen.includes("\x1b[3F"));
  assert.ok(screen.includes("\x1b[0Ja note above the table\n"));
});

Deno.test("eight targets with ten tickets each run in parallel with --detach; wait --all returns", async () => {
  await using p = await testProject({}, { run: { max_parallel: 8 } });
  const names = Array.from({ length: 8 }, (_, i) => `stream/s${i + 1}`);
  const paths = await worktreesWithTickets(p, names, 10);

  const started = await p.cmcs(["run", "--all", "--detach", "--json"]);
  assert.equal(started.code, 0, started.stderr);
  const doc = JSON.parse(started.stdout) as {
    broker_pid: number;
    log: string;
    runs: { run_id: number | null; target: string; status: string }[];
  };
  assert.deepEqual(doc.runs.map((r) => r.target).sort(), [...paths].sort());
  assert.ok(doc.runs.every((r) => typeof r.run_id === "number"), "all eight started at once");
  assert.equal(new Set(doc.runs.map((r) => r.run_id)).size, 8);

  const waited = await p.cmcs(["wait", "--all", "--timeout", "600", "--json"], {
    timeoutMs: 620_000,
  });
  assert.equal(waited.code, 0, waited.stderr + waited.stdout);
  const report = JSON.parse(waited.stdout) as {
    runs: { id: number; status: string; tickets: { done: number } }[];
  };
  assert.equal(report.runs.length, 8);
  assert.ok(report.runs.every((r) => r.status === "completed" && r.tickets.done === 10));

  for (const [i, path] of paths.entries()) {
    const log = (await gitIn(p.path, "log", "--format=%s", `main..${names[i]}`)).trim().split("\n");
    assert.equal(log.length, 10, `${names[i]}: one commit per ticket`);
    const ticket = await gitIn(p.path, "show", `${names[i]}:.cmcs/tickets/TICKET-010.md`);
    assert.match(ticket, /^done: true$/m);
    assert.equal((await gitIn(path, "status", "--porcelain")).trim(), "", "nothing left over");
  }

  const runs = query<RunRow>(p, "SELECT * FROM runs ORDER BY id");
  assert.equal(runs.length, 8);
  assert.ok(runs.every((r) => r.broker_pid === doc.broker_pid), "one broker ran them all");
  assert.ok(maxOverlap(runs.map((r) => [r.started_at, r.finished_at!])) > 1, "they overlapped");
  const attempts = query<AttemptRow>(p, "SELECT * FROM attempts");
  assert.equal(attempts.length, 80);
  assert.ok(attempts.every((a) => a.outcome === "done"));
  for (const run of runs) {
    const counts = Object.fromEntries(
      query<{ event: string; n: number }>(
        p,
        "SELECT event, COUNT(*) AS n FROM events WHERE run_id = ? GROUP BY event",
        run.id,
      ).map((row) => [row.event, row.n]),
    );
    assert.equal(counts.run_started, 1, JSON.stringify(counts));
    assert.equal(counts.started, 10, JSON.stringify(counts));
    assert.equal(counts.completed, 10, JSON.stringify(counts));
    assert.equal(counts.run_finished, 1, JSON.stringify(counts));
    assert.equal(counts.failed, undefined, JSON.stringify(counts));
  }
  const everything = started.stdout + started.stderr + waited.stdout + waited.stderr +
    await allLogs(join(p.path, ".cmcs/logs"));
  assert.doesNotMatch(everything, /database is locked/i);
  assert.match(await Deno.readTextFile(doc.log), /\[worktrees\/stream\/s8\] run \d+ completed/);
});

Deno.test("run.max_parallel 2 with four targets: never more than two run at once, the rest queue", async () => {
  await using p = await testProject({}, { run: { max_parallel: 2 } });
  const paths = await worktreesWithTickets(p, ["q1", "q2", "q3", "q4"], 2, [["slow", 0.5]]);
  const result = await p.cmcs(["run", ...paths], { timeoutMs: 180_000 });
  assert.equal(result.code, 0, result.stderr + result.stdout);
  assert.equal(result.stdout.match(/queued \(run\.max_parallel reached\)/g)?.length, 2);
  assert.match(result.stdout, /^\[worktrees\/q4\] run \d+ completed$/m);

  const runs = query<RunRow>(p, "SELECT * FROM runs ORDER BY id");
  assert.equal(runs.length, 4);
  assert.ok(runs.every((r) => r.status === "completed"));
  assert.equal(maxOverlap(runs.map((r) => [r.started_at, r.finished_at!])), 2);
  const attempts = query<AttemptRow>(p, "SELECT * FROM attempts");
  assert.ok(maxOverlap(attempts.map((a) => [a.started_at, a.finished_at!])) <= 2);
  const queued = query<{ n: number }>(
    p,
    "SELECT COUNT(*) AS n FROM worktrees WHERE queued_at IS NOT NULL",
  )[0];
  assert.equal(queued.n, 0, "no queue mark is left behind");
});

Deno.test("a detached broker lists queued targets without a run id; wait --all waits for them", async () => {
  await using p = await testProject({}, { run: { max_parallel: 1 } });
  const paths = await worktreesWithTickets(p, ["d1", "d2", "d3"], 1, [["slow", 1]]);
  const started = await p.cmcs(["run", ...paths, "--detach", "--json"]);
  assert.equal(started.code, 0, started.stderr);
  const runs = JSON.parse(started.stdout).runs as {
    run_id: number | null;
    target: string;
    status: string;
  }[];
  assert.deepEqual(runs.map((r) => r.target), paths);
  assert.equal(runs[0].status, "running");
  assert.equal(typeof runs[0].run_id, "number");
  assert.ok(runs.some((r) => r.status === "queued"), JSON.stringify(runs));
  for (const r of runs.filter((r) => r.status === "queued")) assert.equal(r.run_id, null);

  const waited = await p.cmcs(["wait", "--all", "--timeout", "120", "--json"], {
    timeoutMs: 130_000,
  });
  assert.equal(waited.code, 0, waited.stderr + waited.stdout);
  const report = JSON.parse(waited.stdout).runs as { id: number; status: string }[];
  assert.deepEqual(report.map((r) => r.status), ["completed", "completed", "completed"]);
  assert.equal(new Set(report.map((r) => r.id)).size, 3);
});

Deno.test("cmcs stop on a target waiting for a slot takes it out of the queue: it never starts", async () => {
  await using p = await testProject({}, { run: { max_parallel: 1 } });
  const paths = await worktreesWithTickets(p, ["s1", "s2"], 1, [["slow", 2]]);
  const started = await p.cmcs(["run", ...paths, "--detach", "--json"]);
  assert.equal(started.code, 0, started.stderr);
  const planned = JSON.parse(started.stdout).runs as { target: string; status: string }[];
  assert.deepEqual(planned.map((r) => r.status), ["running", "queued"]);

  const stop = await p.cmcs(["stop", paths[1], "--json"]);
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  const stopped = JSON.parse(stop.stdout);
  assert.equal(stopped.status, "dequeued");
  assert.equal(stopped.run_id, null);
  assert.equal(stopped.target, paths[1]);
  const again = await p.cmcs(["stop", paths[1]]);
  assert.equal(again.code, 1, "nothing left to stop there");
  assert.match(again.stderr, /^error: nothing is running on worktrees\/s2$/m);

  const waited = await p.cmcs(["wait", paths[0], "--timeout", "60"], { timeoutMs: 70_000 });
  assert.equal(waited.code, 0, waited.stdout + waited.stderr);
  // The broker gets past the second target without starting it, then exits.
  const brokerPid = JSON.parse(started.stdout).broker_pid as number;
  await until("the broker to exit", () => processStartToken(brokerPid) === null, 30_000);
  const runs = query<RunRow>(p, "SELECT * FROM runs ORDER BY id");
  assert.deepEqual(runs.map((r) => r.worktree), [paths[0]], "s2 never got a run");
  const marks = query<{ n: number }>(
    p,
    "SELECT COUNT(*) AS n FROM worktrees WHERE queued_at IS NOT NULL",
  );
  assert.equal(marks[0].n, 0);
});

Deno.test("a detached run survives the shell that started it; wait sees it through", async () => {
  await using p = await testProject();
  const [path] = await worktreesWithTickets(p, ["survivor"], 2, [["slow", 1]]);
  const out = join(p.stateDir, "detach.json");
  const command = [Deno.execPath(), "run", "--quiet", ...PERMISSION_FLAGS, cmcsEntry()]
    .map((arg) => `'${arg}'`).join(" ");
  const shell = new Deno.Command("sh", {
    args: ["-c", `${command} run --detach --json '${path}' > '${out}'; exit 0`],
    cwd: p.path,
    env: { ...p.env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    detached: true,
  }).spawn();
  const ended = await shell.output();
  assert.equal(ended.code, 0, new TextDecoder().decode(ended.stderr));
  // Whatever is left in the caller's process group is killed, as a closing terminal would.
  for (const signal of ["SIGHUP", "SIGKILL"] as const) {
    try {
      Deno.kill(-shell.pid, signal);
    } catch { /* the group is already empty */ }
  }
  const doc = JSON.parse(await Deno.readTextFile(out));
  assert.equal(doc.runs[0].status, "running");
  const waited = await p.cmcs(["wait", path, "--timeout", "120", "--json"], {
    timeoutMs: 130_000,
  });
  assert.equal(waited.code, 0, waited.stderr + waited.stdout);
  const run = JSON.parse(waited.stdout).runs[0];
  assert.equal(run.id, doc.runs[0].run_id);
  assert.equal(run.status, "completed");
  assert.equal(run.tickets.done, 2);
});

Deno.test("run --all picks only targets with a ticket to run; wait --all and misuse are clear", async () => {
  await using p = await testProject();
  const none = await p.cmcs(["wait", "--all"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^error: no registered target has a run yet/m);
  const [withWork] = await worktreesWithTickets(p, ["has-work"], 1);
  await worktreesWithTickets(p, ["no-work"], 0);
  const [finished] = await worktreesWithTickets(p, ["all-done"], 0);
  await writeTicket(finished, "TICKET-001.md", { done: true });

  const dry = JSON.parse((await p.cmcs(["run", "--all", "--dry-run", "--json"])).stdout);
  assert.deepEqual(dry.targets.map((t: { target: string }) => t.target), [withWork]);
  const result = await p.cmcs(["run", "--all", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    JSON.parse(result.stdout).runs.map((r: { target: string; status: string }) => [
      r.target,
      r.status,
    ]),
    [[withWork, "completed"]],
  );
  const again = await p.cmcs(["run", "--all"]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /^nothing to run: no registered target has a ticket to run$/m);

  const waited = await p.cmcs(["wait", "--all", "--json"]);
  assert.equal(waited.code, 0, waited.stderr);
  assert.deepEqual(JSON.parse(waited.stdout).runs.map((r: { target: string }) => r.target), [
    withWork,
  ]);

  const both = await p.cmcs(["run", "--all", withWork]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /^error: give target paths or --all, not both/m);
});

Deno.test("several targets in a pipe print plain lines prefixed with each target", async () => {
  await using p = await testProject();
  const paths = await worktreesWithTickets(p, ["left", "right"], 1);
  const result = await p.cmcs(["run", ...paths]);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!result.stdout.includes("\x1b["), "no cursor movement or colour in a pipe");
  for (const label of ["worktrees/left", "worktrees/right"]) {
    assert.match(result.stdout, new RegExp(`^\\[${label}\\] TICKET-001  done`, "m"));
    assert.match(result.stdout, new RegExp(`^\\[${label}\\] run \\d+ completed$`, "m"));
  }
  const events = query<EventRow>(p, "SELECT * FROM events WHERE event = 'run_finished'");
  assert.equal(events.length, 2);
});
