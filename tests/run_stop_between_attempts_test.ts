import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify } from "yaml";
import { directive } from "./helpers/fake_codex.ts";
import { FAKE_CODEX, type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { attempts, runs } from "./helpers/runs.ts";

/**
 * A script that records a `cmcs stop` of every running run the way the database sees it, for a
 * worker or a git hook to run at the moment a test needs the stop to land.
 */
async function writeStopper(p: TestProject): Promise<string> {
  const db = join(p.path, ".cmcs", "cmcs.db");
  const stopper = join(p.stateDir, "stop.ts");
  await Deno.writeTextFile(
    stopper,
    `import { DatabaseSync } from "node:sqlite";
const db = new DatabaseSync(${JSON.stringify(db)});
db.exec("PRAGMA busy_timeout = 5000");
db.exec("UPDATE runs SET stop_requested_at = '2026-01-01T00:00:00.000Z' WHERE status = 'running'");
`,
  );
  return stopper;
}

/**
 * A `codex.command` that runs the stand-in worker and then, before it exits, records a
 * `cmcs stop` as the database sees it (see {@link writeStopper}); its exit code is the worker's.
 */
async function codexThenStop(p: TestProject): Promise<string> {
  const wrapper = join(p.stateDir, "codex-then-stop");
  const stopper = await writeStopper(p);
  await Deno.writeTextFile(
    wrapper,
    `#!/usr/bin/env bash
"${FAKE_CODEX}" "$@"
code=$?
"${Deno.execPath()}" run --quiet --allow-read --allow-write "${stopper}" || exit 99
exit $code
`,
  );
  await Deno.chmod(wrapper, 0o755);
  return wrapper;
}

Deno.test("a stop recorded while an attempt ends keeps the fallback attempt from starting", async () => {
  await using p = await testProject({ fallback_model: "fb" });
  // The worker: the stand-in, then — before it exits — a `cmcs stop` as the database sees it.
  const wrapper = await codexThenStop(p);
  const config = join(p.path, ".cmcs", "config.yml");
  await Deno.writeTextFile(
    config,
    stringify({
      codex: { command: wrapper, fallback_model: "fb", stop_grace_s: 1, timeout_s: 60 },
    }),
  );
  await p.ticket(
    "TICKET-001.md",
    { title: "Too big", agent: "codex", done: false },
    `Do it.\n${directive("context-unless-model", "fb")}\n`,
  );

  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const [only] = runs(p);
  assert.equal(only.status, "stopped");
  const made = attempts(p);
  // The run's own poll (every 250 ms) may see the stop before the wrapper has exited; then the
  // first attempt ends `stopped`. Either way no fallback attempt may follow.
  assert.equal(made.length, 1, JSON.stringify(made.map((a) => [a.kind, a.outcome])));
  assert.equal(made[0].kind, "first");
  assert.ok(["context_limit", "stopped"].includes(made[0].outcome!), made[0].outcome ?? "");
  assert.equal((await p.calls()).length, 1, "the fallback worker never started");
});

Deno.test("a stop recorded while the broker looks at the working tree keeps the worker from starting", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Never starts", agent: "codex", done: false });
  // The first `git status` of the run is the attempt's look at the working tree, right before the
  // worker would start; an fsmonitor hook records a `cmcs stop` (as the database sees it) there.
  const stopper = await writeStopper(p);
  const marker = join(p.stateDir, "stopped-once");
  const hook = join(p.stateDir, "fsmonitor");
  await Deno.writeTextFile(
    hook,
    `#!/bin/sh
if [ ! -e '${marker}' ]; then
  touch '${marker}'
  '${Deno.execPath()}' run --quiet --allow-read --allow-write '${stopper}' >&2
fi
exit 1
`,
  );
  await Deno.chmod(hook, 0o755);
  await gitIn(p.path, "config", "core.fsmonitor", hook);

  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  await Deno.stat(marker);
  assert.equal(runs(p)[0].status, "stopped");
  const [attempt, ...more] = attempts(p);
  assert.equal(more.length, 0);
  assert.equal(attempt.outcome, "stopped");
  assert.equal(attempt.worker_pid, null, "no worker was started");
  assert.equal((await p.calls()).length, 0);
});

Deno.test("a stop recorded while a resume's attempt ends keeps its transient-error retry from starting", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Second round", agent: "codex", done: false },
    `Do it.\n${directive("not-done")}\n`,
  );
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "ticket");
  const first = await p.cmcs(["run"]);
  assert.equal(first.code, 1, first.stdout + first.stderr);

  // The resume fails with a transient error, and its worker records a `cmcs stop` before it exits.
  const ticket = join(p.path, ".cmcs", "tickets", "TICKET-001.md");
  await Deno.writeTextFile(
    ticket,
    (await Deno.readTextFile(ticket)).replace(directive("not-done"), directive("fail")),
  );
  const wrapper = await codexThenStop(p);
  await Deno.writeTextFile(
    join(p.path, ".cmcs", "config.yml"),
    stringify({
      codex: {
        command: wrapper,
        max_retries: 2,
        retry_backoff_s: 0,
        stop_grace_s: 1,
        timeout_s: 60,
      },
    }),
  );

  const resumed = await p.cmcs(["resume", ".", "TICKET-001", "-m", "Once more"]);
  assert.equal(resumed.code, 1, resumed.stdout + resumed.stderr);
  const run = runs(p).find((r) => r.id === 2)!;
  assert.equal(run.status, "stopped", run.message ?? "");
  const made = attempts(p).filter((a) => a.run_id === 2);
  // As above, the poll may see the stop before the worker exits: the resume then ends `stopped`.
  assert.deepEqual(made.map((a) => a.kind), ["resume"], JSON.stringify(made.map((a) => a.outcome)));
  assert.ok(["worker_failed", "stopped"].includes(made[0].outcome!), made[0].outcome ?? "");
});
