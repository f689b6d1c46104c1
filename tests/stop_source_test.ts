/**
 * A stopped run says who stopped it, and `cmcs stop` names a run id as it was typed.
 */
import assert from "node:assert/strict";
import { directive } from "./helpers/fake_codex.ts";
import { serveDashboard } from "./helpers/dashboard_server.ts";
import { testProject } from "./helpers/project.ts";
import { attempts, query, runs, until } from "./helpers/runs.ts";

Deno.test("a run stopped from the dashboard is recorded as stopped by the dashboard, not by `cmcs stop`", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Hangs" }, `Wait.\n${directive("hang")}\n`);
  const running = p.cmcs(["run"]);
  await until(
    "the worker to start",
    () =>
      query<{ id: number }>(p, "SELECT id FROM attempts WHERE worker_pid IS NOT NULL").length > 0,
  );
  await using served = await serveDashboard(p.path, { env: p.env });
  const page = await (await fetch(`${served.url}runs/1`)).text();
  const token = /name="_token" value="([^"]+)"/.exec(page)?.[1];
  assert.ok(token, "the run page carries the stop form's token");
  const origin = new URL(served.url).origin;
  const stop = await fetch(`${origin}/api/runs/1/stop`, {
    method: "POST",
    headers: { Origin: origin, "X-CMCS-Token": token },
  });
  assert.equal(stop.status, 200, await stop.text());

  const run = await running;
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /^TICKET-001 {2}stopped \(.*\): stopped by the dashboard$/m);
  assert.doesNotMatch(run.stdout, /cmcs stop/);
  assert.match(runs(p)[0].message ?? "", /stopped by the dashboard$/);
  assert.equal(attempts(p)[0].message, "stopped by the dashboard");
});

Deno.test("cmcs stop with a run id too large for a number refuses it as typed, not as 1e+21", async () => {
  await using p = await testProject();
  const out = await p.cmcs(["stop", "999999999999999999999"]);
  assert.equal(out.code, 2, out.stderr);
  assert.match(out.stderr, /^error: run id 999999999999999999999 is out of range/);
  assert.doesNotMatch(out.stderr, /e\+/);
});
