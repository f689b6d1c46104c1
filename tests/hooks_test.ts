/**
 * Notification hooks: `hooks.on_ticket_end` and `hooks.on_run_end` run once per transition with
 * the run's facts in their environment; a failing or slow hook is recorded and never breaks or
 * blocks the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { EventRow } from "../src/core/db/types.ts";
import { runShellCommand } from "../src/core/hooks.ts";
import { directive } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { tempDir } from "./helpers/repo.ts";
import { query } from "./helpers/runs.ts";

function events(p: TestProject): EventRow[] {
  return query<EventRow>(p, "SELECT * FROM events ORDER BY id");
}

const LINE = '"$CMCS_HOOK $CMCS_RUN_ID $CMCS_TICKET $CMCS_OUTCOME $CMCS_STATUS $CMCS_TARGET"';

Deno.test("hooks fire exactly once per ticket end and run end, with the run's facts", async () => {
  await using dir = await tempDir();
  const log = join(dir.path, "hooks.log");
  await using p = await testProject({ max_retries: 2 }, {
    hooks: {
      on_ticket_end: `echo ${LINE} >> '${log}'`,
      on_run_end: `echo ${LINE} >> '${log}'`,
    },
  });
  await p.ticket("TICKET-001.md", { title: "one", agent: "codex", done: false });
  await p.ticket(
    "TICKET-002.md",
    { title: "two", agent: "codex", done: false },
    `Retried once, then done.\n${directive("transient-once")}\n`,
  );
  await p.ticket(
    "TICKET-003.md",
    { title: "three", agent: "codex", done: false },
    `Fails.\n${directive("fail", "boom")}\n`,
  );
  await p.ticket("TICKET-004.md", { title: "never reached", agent: "codex", done: false });
  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 1, result.stderr);

  const lines = (await Deno.readTextFile(log)).trim().split("\n").sort();
  assert.deepEqual(lines, [
    `on_run_end 1 TICKET-003 worker_failed failed ${p.path}`,
    `on_ticket_end 1 TICKET-001 done running ${p.path}`,
    `on_ticket_end 1 TICKET-002 done running ${p.path}`,
    `on_ticket_end 1 TICKET-003 worker_failed running ${p.path}`,
  ]);
  const hookEvents = events(p).filter((e) => e.event === "hook");
  assert.equal(hookEvents.length, 4);
  assert.ok(hookEvents.every((e) => e.outcome === "ok"), JSON.stringify(hookEvents));
});

Deno.test("a failing hook and a slow hook are recorded and do not break or block the run", async () => {
  await using dir = await tempDir();
  const marker = join(dir.path, "slow-hook-ran");
  await using p = await testProject({}, {
    hooks: {
      on_ticket_end: `echo 'cannot notify' >&2; touch '${marker}'; sleep 2; exit 3`,
      on_run_end: "sleep 60",
      timeout_s: 1,
    },
  });
  await p.ticket("TICKET-001.md", { title: "one", agent: "codex", done: false });
  await p.ticket("TICKET-002.md", { title: "two", agent: "codex", done: false });
  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /run 1 completed/);
  assert.match(
    result.stdout,
    /^run 1: hook on_ticket_end for TICKET-001\.md was ended \(timed out after 1s\): cannot notify$/m,
  );
  assert.match(result.stdout, /^run 1: hook on_run_end was ended \(timed out after 1s\)$/m);

  const all = events(p);
  const hooks = all.filter((e) => e.event === "hook");
  assert.deepEqual(hooks.map((e) => [e.ticket, e.outcome]).sort(), [
    ["", "timeout"],
    ["TICKET-001.md", "timeout"],
    ["TICKET-002.md", "timeout"],
  ]);
  assert.match(hooks.find((e) => e.ticket === "TICKET-001.md")!.message!, /cannot notify/);
  // The run did not wait for TICKET-001's hook before starting TICKET-002.
  const firstHook = hooks.find((e) => e.ticket === "TICKET-001.md")!;
  const secondStart = all.find((e) => e.event === "started" && e.ticket === "TICKET-002.md")!;
  assert.ok(secondStart.id < firstHook.id, "TICKET-002 started before TICKET-001's hook ended");
  const finished = all.find((e) => e.event === "run_finished")!;
  assert.equal(finished.outcome, "completed");
});

Deno.test("a hook that exits non-zero is recorded as failed with its output", async () => {
  await using p = await testProject({}, {
    hooks: { on_run_end: "echo 'webhook said 500'; exit 2" },
  });
  await p.ticket("TICKET-001.md", { title: "one", agent: "codex", done: false });
  const result = await p.cmcs(["run", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout).runs[0].status, "completed");
  assert.match(result.stderr, /^run 1: hook on_run_end failed \(exit 2\): webhook said 500$/m);
  const hook = events(p).find((e) => e.event === "hook")!;
  assert.equal(hook.outcome, "failed");
  assert.equal(hook.exit_code, 2);
  assert.match(hook.message!, /^on_run_end: exit 2\nwebhook said 500$/);
});

Deno.test("runShellCommand() ends the whole process group of a command that overruns", async () => {
  await using dir = await tempDir();
  const pidFile = join(dir.path, "pid");
  const result = await runShellCommand({
    command: `sleep 30 & echo $! > '${pidFile}'; echo started; wait`,
    cwd: dir.path,
    env: {},
    timeoutS: 0.5,
  });
  assert.equal(result.timedOut, true);
  assert.equal(result.code, null);
  assert.match(result.output, /started/);
  const pid = Number((await Deno.readTextFile(pidFile)).trim());
  assert.ok(Number.isInteger(pid) && pid > 1);
  let alive = true;
  for (let i = 0; i < 40 && alive; i++) {
    const ps = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] }).output();
    const stat = new TextDecoder().decode(ps.stdout).trim();
    alive = ps.code === 0 && stat !== "" && !stat.startsWith("Z");
    if (alive) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(alive, false, "the background sleep was killed with its group");
});
