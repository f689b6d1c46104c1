/**
 * `cmcs run > run.log` inside the repository: the file cmcs's own output goes to is not the
 * worker's change and stays out of the ticket's commit.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cmcsEntry, PERMISSION_FLAGS } from "./helpers/cli.ts";
import { directive } from "./helpers/fake_codex.ts";
import { testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";

Deno.test("cmcs run redirected into a file inside the repository does not commit that file with the ticket", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Greet" }, `Greet.\n${directive("write", "hi.txt")}\n`);
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "ticket");

  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      'exec "$0" "$@" > run.log 2> run.err',
      Deno.execPath(),
      "run",
      "--quiet",
      ...PERMISSION_FLAGS,
      cmcsEntry(),
      "run",
    ],
    cwd: p.path,
    env: { NO_COLOR: "1", ...p.env },
    stdin: "null",
  }).output();
  const log = await Deno.readTextFile(join(p.path, "run.log"));
  assert.equal(out.code, 0, log + await Deno.readTextFile(join(p.path, "run.err")));
  assert.match(log, /^run 1 completed/m);

  const committed = (await gitIn(p.path, "show", "--name-only", "--format=", "HEAD")).trim();
  assert.deepEqual(committed.split("\n").sort(), [".cmcs/tickets/TICKET-001.md", "hi.txt"]);
  const status = await gitIn(p.path, "status", "--porcelain");
  assert.match(status, /^\?\? run\.err$/m, "the output files stay untracked, untouched");
  assert.match(status, /^\?\? run\.log$/m);
  assert.doesNotMatch(log, /uncommitted edits before the ticket ran/, "and no warning about them");
});
