import assert from "node:assert/strict";
import { isSameProcessAlive } from "../src/core/process_identity.ts";
import { brokerOnHangingTicket } from "./helpers/broker.ts";
import { testProject } from "./helpers/project.ts";
import { runs } from "./helpers/runs.ts";

Deno.test("a wait in progress notices its run's broker dying, reports it interrupted and exits 1", async () => {
  await using p = await testProject();
  await using running = await brokerOnHangingTicket(p);
  const { broker, attempt } = running;
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
});
