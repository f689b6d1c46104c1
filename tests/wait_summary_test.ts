import assert from "node:assert/strict";
import { join } from "node:path";
import { directive } from "./helpers/fake_codex.ts";
import { testProject } from "./helpers/project.ts";

Deno.test("wait ends with the review command of every ticket its run attempted, in the order they ran", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "One", agent: "codex", done: false });
  await p.ticket("TICKET-002.md", { title: "Two", agent: "codex", done: false });
  await p.ticket(
    "TICKET-003.md",
    { title: "Three", agent: "codex", done: false },
    directive("fail", "tests are red"),
  );
  const started = await p.cmcs(["run", "--detach"]);
  assert.equal(started.code, 0, started.stdout + started.stderr);

  const waited = await p.cmcs(["wait", "--timeout", "120"], { timeoutMs: 130_000 });
  assert.equal(waited.code, 1, waited.stdout + waited.stderr);
  const lines = waited.stdout.trim().split("\n");
  assert.match(lines[0], /^run 1 \(\.\) failed \(2 done, 1 failed, /);
  assert.deepEqual(lines.slice(1), [
    "next: cmcs result . TICKET-001",
    "next: cmcs result . TICKET-002",
    "next: cmcs result . TICKET-003",
  ]);

  const json = JSON.parse((await p.cmcs(["wait", "--json"])).stdout);
  assert.deepEqual(json.next, lines.slice(1).map((line) => line.slice("next: ".length)));

  await Deno.mkdir(join(p.path, "docs"));
  const fromSubdir = await p.cmcs(["wait", ".."], { cwd: join(p.path, "docs") });
  assert.match(fromSubdir.stdout, /^next: cmcs result \.\. TICKET-001$/m);
});

Deno.test("a wait that times out ends with the command to wait again", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Hangs", agent: "codex", done: false },
    directive("hang"),
  );
  const started = await p.cmcs(["run", "--detach"]);
  assert.equal(started.code, 0, started.stdout + started.stderr);
  try {
    const waited = await p.cmcs(["wait", "--timeout", "0.5"]);
    assert.equal(waited.code, 124, waited.stdout + waited.stderr);
    assert.equal(waited.stdout.trim().split("\n").at(-1), "next: cmcs wait .");
  } finally {
    const stopped = await p.cmcs(["stop", "."]);
    assert.equal(stopped.code, 0, stopped.stdout + stopped.stderr);
  }
});
