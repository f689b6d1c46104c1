import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify } from "yaml";
import { directive } from "./helpers/fake_codex.ts";
import { FAKE_CODEX, testProject } from "./helpers/project.ts";
import { attempts, runs } from "./helpers/runs.ts";

Deno.test("a stop recorded while an attempt ends keeps the fallback attempt from starting", async () => {
  await using p = await testProject({ fallback_model: "fb" });
  // The worker: the stand-in, then — before it exits — a `cmcs stop` as the database sees it.
  const wrapper = join(p.stateDir, "codex-then-stop");
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
  assert.deepEqual(made.map((a) => [a.kind, a.outcome]), [["first", "context_limit"]]);
  assert.equal((await p.calls()).length, 1, "the fallback worker never started");
});
