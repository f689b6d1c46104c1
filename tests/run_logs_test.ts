/**
 * `cmcs logs` on real runs of the stand-in worker: the readable rendering (agent messages,
 * commands with exit codes, file changes), `--lines`, `--raw`, `--json`, `--ticket`, and
 * `--follow` through a whole multi-ticket run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { directive } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { query } from "./helpers/runs.ts";

function count(p: TestProject, table: "runs" | "attempts"): number {
  return Number(query<{ n: number }>(p, `SELECT COUNT(*) AS n FROM ${table}`)[0].n);
}

const attemptCount = (p: TestProject) => count(p, "attempts");
const runCount = (p: TestProject) => count(p, "runs");

/** A finished two-ticket run; TICKET-001 writes src/a.txt, TICKET-002 the default output. */
async function finishedRun(p: TestProject): Promise<void> {
  await p.ticket(
    "TICKET-001.md",
    { title: "Write a", agent: "codex", done: false },
    `Do it.\n${directive("write", "src/a.txt", "hello")}\n`,
  );
  await p.ticket("TICKET-002.md", { title: "Second", agent: "codex", done: false });
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
}

Deno.test("logs renders the latest attempt: agent messages, commands with exit codes, file changes", async () => {
  await using p = await testProject();
  await finishedRun(p);
  const logs = await p.cmcs(["logs", "--ticket", "TICKET-001"]);
  assert.equal(logs.code, 0, logs.stderr);
  const ticket = join(p.path, ".cmcs/tickets/TICKET-001.md");
  const lines = logs.stdout.trimEnd().split("\n");
  assert.match(
    lines[0],
    /^== run 1 · TICKET-001 · attempt 1 \(first\) · codex default model · done$/,
  );
  assert.ok(
    lines.includes(`codex: I will work on TICKET-001 in ${p.path} and then update the ticket.`),
  );
  assert.ok(lines.includes(`added ${join(p.path, "src/a.txt")}`), logs.stdout);
  assert.ok(lines.includes(`edited ${ticket}`), logs.stdout);
  assert.ok(lines.includes(`$ grep -n '^done:' '${ticket}'`), logs.stdout);
  assert.ok(lines.includes("  exit 0 (1 line of output)"), logs.stdout);
  assert.match(logs.stdout, /^ {4}\d+:done: true$/m);
  assert.match(logs.stdout, /^warning: Model metadata for `gpt-5\.5` not found/m);
  assert.match(lines.at(-1)!, /^turn completed: [\d.]+k in \(0 cached\), \d+ out$/);
  assert.doesNotMatch(logs.stdout, /"type"/, "no raw JSON in the rendering");

  const latest = await p.cmcs(["logs"]);
  assert.match(
    latest.stdout,
    /^== run 1 · TICKET-002 · attempt 1/,
    "the latest attempt by default",
  );
  const byNumber = await p.cmcs(["logs", "--ticket", "1"]);
  assert.equal(byNumber.stdout, logs.stdout, "`--ticket 1` names TICKET-001");
  const unknown = await p.cmcs(["logs", "--ticket", "TICKET-009"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: run 1 has no attempt for ticket "TICKET-009"$/m);
  assert.match(unknown.stderr, /^hint: tickets in this run: TICKET-001, TICKET-002$/m);
});

Deno.test("logs --lines, --raw and --json show the same attempt in other shapes", async () => {
  await using p = await testProject();
  await finishedRun(p);
  const full = (await p.cmcs(["logs", "-n", "1000"])).stdout.trimEnd().split("\n");
  const body = full.slice(1);
  assert.ok(body.length > 5, full.join("\n"));

  const last3 = (await p.cmcs(["logs", "--lines", "3"])).stdout.trimEnd().split("\n");
  assert.deepEqual(last3, [full[0], ...body.slice(-3)]);

  const raw = await p.cmcs(["logs", "--raw", "-n", "1000"]);
  const rawLines = raw.stdout.trimEnd().split("\n");
  const file = await Deno.readTextFile(join(p.path, ".cmcs/logs/1/TICKET-002.1/codex.jsonl"));
  assert.equal(rawLines.join("\n"), file.trimEnd(), "--raw prints exactly the stream Codex wrote");
  for (const line of rawLines) JSON.parse(line);
  assert.match(raw.stderr, /^== run 1 · TICKET-002/m, "the header goes to stderr");
  const rawTail = (await p.cmcs(["logs", "--raw", "-n", "2"])).stdout.trimEnd().split("\n");
  assert.deepEqual(rawTail.slice(-2), file.trimEnd().split("\n").slice(-2));

  const json = await p.cmcs(["logs", "--json", "-n", "1000"]);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.run_id, 1);
  assert.equal(doc.ticket, "TICKET-002");
  assert.equal(doc.attempt, 1);
  assert.equal(doc.outcome, "done");
  assert.deepEqual(doc.lines, body);
  assert.equal(doc.truncated, false);
  const short = JSON.parse((await p.cmcs(["logs", "--json", "-n", "2"])).stdout);
  assert.deepEqual(short.lines, body.slice(-2));
  assert.equal(short.truncated, true);
});

Deno.test("logs --follow moves on to the next ticket and ends when the run ends", async () => {
  await using p = await testProject();
  for (const n of [1, 2, 3]) {
    await p.ticket(
      `TICKET-00${n}.md`,
      { title: `Slow ${n}`, agent: "codex", done: false },
      `Do it.\n${directive("slow", 1)}\n`,
    );
  }
  const running = p.cmcs(["run"]);
  const deadline = Date.now() + 30_000;
  while (attemptCount(p) === 0) {
    assert.ok(Date.now() < deadline, "the run never started an attempt");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const [follow, raw] = await Promise.all([
    p.cmcs(["logs", "--follow"], { timeoutMs: 60_000 }),
    p.cmcs(["logs", "--follow", "--raw"], { timeoutMs: 60_000 }),
  ]);
  const run = await running;
  assert.equal(run.code, 0, run.stdout + run.stderr);

  assert.equal(follow.code, 0, follow.stderr);
  const headers = follow.stdout.split("\n").filter((l) => l.startsWith("== "));
  assert.deepEqual(headers.map((h) => h.replace(/ · .*/, "")), [
    "== run 1",
    "== run 1",
    "== run 1",
    "== run 1 completed",
  ]);
  assert.deepEqual(headers.slice(0, 3).map((h) => h.split(" · ")[1]), [
    "TICKET-001",
    "TICKET-002",
    "TICKET-003",
  ]);
  for (const n of [1, 2, 3]) {
    const section = follow.stdout.split(/^== /m)[n];
    assert.match(section, new RegExp(`codex: Completed TICKET-00${n}`), section);
    assert.match(section, /^turn completed: /m);
  }

  assert.equal(raw.code, 0, raw.stderr);
  const rawBody = raw.stdout.split("\n").filter((l) => l.trim() !== "");
  assert.ok(rawBody.length > 0);
  assert.equal(raw.stderr.split("\n").filter((l) => l.startsWith("== ")).length, 4);
  for (const line of rawBody) JSON.parse(line);
  assert.equal(rawBody.filter((l) => l.includes('"type":"turn.completed"')).length, 3);
});

Deno.test("logs --follow started before the run's first attempt waits for it", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Only", agent: "codex", done: false });
  // A slow `git status` (through an fsmonitor hook) holds the run between its start and the
  // first attempt, which cmcs opens after looking at the working tree.
  const monitor = join(p.stateDir, "slow-fsmonitor");
  await Deno.writeTextFile(monitor, "#!/bin/sh\nsleep 0.5\nexit 1\n");
  await Deno.chmod(monitor, 0o755);
  await gitIn(p.path, "config", "core.fsmonitor", monitor);

  const running = p.cmcs(["run"]);
  const deadline = Date.now() + 30_000;
  while (runCount(p) === 0) {
    assert.ok(Date.now() < deadline, "the run never started");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(attemptCount(p), 0, "the test must start following before the first attempt");
  const follow = await p.cmcs(["logs", "--follow"], { timeoutMs: 60_000 });
  assert.equal((await running).code, 0);
  assert.equal(follow.code, 0, follow.stdout + follow.stderr);
  assert.match(follow.stdout, /^== run 1 · TICKET-001 · attempt 1/m);
  assert.match(follow.stdout, /codex: Completed TICKET-001/);
  assert.match(follow.stdout, /^== run 1 completed$/m);
});

Deno.test("logs and logs --follow show a failed turn's error once, as the dashboard does", async () => {
  await using p = await testProject({ max_retries: 0 });
  await p.ticket(
    "TICKET-001.md",
    { title: "Fails", agent: "codex", done: false },
    `Do it.\n${directive("fail", "the model is unavailable")}\n`,
  );
  await p.cmcs(["run"]);
  for (const args of [["logs"], ["logs", "--follow"]]) {
    const logs = await p.cmcs(args, { timeoutMs: 30_000 });
    assert.equal(logs.code, 0, logs.stderr);
    const lines = logs.stdout.split("\n");
    assert.ok(lines.includes("error: the model is unavailable"), logs.stdout);
    assert.ok(lines.includes("turn failed"), logs.stdout);
    assert.equal(
      lines.filter((l) => l.includes("the model is unavailable") && !/^(--|==) /.test(l)).length,
      1,
      `${args.join(" ")}: the message once in the stream\n${logs.stdout}`,
    );
  }
});

Deno.test("logs says when cmcs clean removed the log, and refuses --follow with --json", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "One", agent: "codex", done: false });
  assert.equal((await p.cmcs(["run"])).code, 0);
  assert.equal((await p.cmcs(["clean", "--logs-days", "0"])).code, 0);
  const logs = await p.cmcs(["logs"]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(
    logs.stdout,
    /^-- no log file: .*\/\.cmcs\/logs\/1\/TICKET-001\.1\/codex\.jsonl is gone \(`cmcs clean` removes old logs\)$/m,
  );
  const both = await p.cmcs(["logs", "--follow", "--json"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /^error: --follow and --json do not go together/);
});
