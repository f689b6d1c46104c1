import assert from "node:assert/strict";
import { join } from "node:path";
import { directive } from "./fake_codex.ts";
import type { TestProject } from "./project.ts";
import { gitIn } from "./repo.ts";

/**
 * A ticket done in two rounds: TICKET-001 "Two rounds" runs and writes a.txt (committed); then
 * the orchestrator asks for more, and `cmcs resume` makes the worker write b.txt too.
 */
export async function runThenResume(p: TestProject): Promise<void> {
  await p.ticket(
    "TICKET-001.md",
    { title: "Two rounds" },
    `Work.\n${directive("write", "a.txt", "first")}\n`,
  );
  assert.equal((await p.cmcs(["run"])).code, 0);
  const ticketPath = join(p.path, ".cmcs/tickets/TICKET-001.md");
  await Deno.writeTextFile(
    ticketPath,
    (await Deno.readTextFile(ticketPath)) + `\n${directive("write", "b.txt", "second")}\n`,
  );
  await gitIn(p.path, "commit", "-q", "-am", "review note");
  const resumed = await p.cmcs(["resume", ".", "TICKET-001", "-m", "Add b.txt too"]);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
}
