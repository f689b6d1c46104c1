/**
 * One answer to "which tickets does a run act on": `run --dry-run`, the run itself (what it
 * dispatches, what it announces as skipped, where it stops) and `run --all`'s choice of targets
 * agree, for done, open, other-agent and malformed tickets.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { directive } from "./helpers/fake_codex.ts";
import { testProject } from "./helpers/project.ts";
import { query } from "./helpers/runs.ts";

Deno.test("the dry run lists exactly the tickets the real run dispatches, skips and stops at", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Done", agent: "codex", done: true });
  await p.ticket(
    "TICKET-002.md",
    { title: "Open", agent: "codex", done: false },
    `Do it.\n${directive("write", "two.txt", "2")}\n`,
  );
  await p.ticket("TICKET-003.md", { title: "Before the block", agent: "claude", done: false });
  await Deno.writeTextFile(join(p.path, ".cmcs/tickets/TICKET-004.md"), "---\ntitle: [\n---\n");
  await p.ticket("TICKET-005.md", { title: "After the block", agent: "claude", done: false });
  await p.ticket("TICKET-006.md", { title: "Unreached", agent: "codex", done: false });

  const dry = await p.cmcs(["run", "--dry-run", "--json"]);
  assert.equal(dry.code, 1, "a malformed ticket makes the dry run fail");
  const [plan] = JSON.parse(dry.stdout).targets;
  assert.deepEqual(plan.dispatch.map((d: { ticket: string }) => d.ticket), ["TICKET-002"]);
  assert.deepEqual(plan.skipped.map((s: { ticket: string }) => s.ticket), ["TICKET-003"]);
  assert.equal(plan.blocked_by.file, "TICKET-004.md");

  const real = await p.cmcs(["run", "--json"]);
  assert.equal(real.code, 1, real.stderr);
  const [run] = JSON.parse(real.stdout).runs;
  const dispatched = run.tickets.filter((t: { outcome: string }) => t.outcome !== "ticket_error");
  assert.deepEqual(dispatched.map((t: { ticket: string }) => t.ticket), ["TICKET-002"]);
  assert.deepEqual(
    run.tickets.filter((t: { outcome: string }) => t.outcome === "ticket_error")
      .map((t: { ticket: string }) => t.ticket),
    ["TICKET-004"],
  );
  const skipped = query<{ ticket: string }>(
    p,
    "SELECT ticket FROM events WHERE event = 'skipped' ORDER BY id",
  ).map((e) => e.ticket);
  assert.deepEqual(skipped, ["TICKET-003.md"], "only what the dry run listed is announced");
  assert.match(real.stderr, /\(2 tickets to run\)/, "the dispatch and the ticket it stops at");
});
