import assert from "node:assert/strict";
import { isSameProcessAlive } from "../src/core/process_identity.ts";
import { cmcsEntry, PERMISSION_FLAGS } from "./helpers/cli.ts";
import { directive } from "./helpers/fake_codex.ts";
import { testProject } from "./helpers/project.ts";
import { attempts, runs, until } from "./helpers/runs.ts";

Deno.test("a wait in progress notices its run's broker dying, reports it interrupted and exits 1", async () => {
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
    const waiting = p.cmcs(["wait", "--json", "--timeout", "60"], { timeoutMs: 70_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    broker.kill("SIGKILL");
    await broker.status;

    const waited = await waiting;
    assert.equal(waited.code, 1, waited.stdout + waited.stderr);
    const report = JSON.parse(waited.stdout);
    assert.equal(report.timed_out, false);
    assert.equal(report.runs[0].status, "interrupted");
    assert.equal(runs(p)[0].status, "interrupted");
    assert.equal(
      isSameProcessAlive(attempt.worker_pid, attempt.worker_start),
      false,
      "the worker the dead broker left behind was ended",
    );
  } finally {
    try {
      broker.kill("SIGKILL");
    } catch { /* already gone */ }
    await broker.status;
  }
});
