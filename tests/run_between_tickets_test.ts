/**
 * What happens between two tickets of a run: the working tree is looked at once per ticket (the
 * look a ticket ends with is where the next one starts, docs/reliability.md "Edits between two
 * tickets"), and that look is taken beside the search for the worker's leftovers. A file a
 * leftover writes as cmcs ends it still counts in the attempt that left it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { testProject } from "./helpers/project.ts";
import { attempts } from "./helpers/runs.ts";
import { gitIn } from "./helpers/repo.ts";

/**
 * A worker in shell: marks its ticket done and exits at once, leaving behind a command (carrying
 * the attempt's token, as everything the worker starts does) that writes `late-<ticket>.txt` when
 * it is told to end.
 */
const WORKER = `#!/bin/sh
ticket=""
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    *"update the ticket file at "*:) ticket=\${line#*update the ticket file at }; ticket=\${ticket%:} ;;
  esac
done
name=$(basename "$ticket" .md)
( trap 'echo late > "late-$name.txt"; exit 0' TERM INT; while :; do sleep 0.05; done ) \\
  </dev/null >/dev/null 2>&1 &
echo '{"type":"thread.started","thread_id":"00000000-0000-7000-8000-000000000001"}'
echo '{"type":"turn.started"}'
sed -i 's/^done: false$/done: true/' "$ticket"
echo "$name done" > "work-$name.txt"
echo '{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"Done."}}'
echo '{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0}}'
`;

for (const autoCommit of [true, false]) {
  Deno.test(
    `a file a worker's leftover writes as it is ended counts in that ticket, not the next (auto-commit ${
      autoCommit ? "on" : "off"
    })`,
    async () => {
      await using p = await testProject({ auto_commit: autoCommit });
      const worker = join(p.stateDir, "leaving-worker");
      await Deno.writeTextFile(worker, WORKER);
      await Deno.chmod(worker, 0o755);
      await Deno.writeTextFile(
        join(p.path, ".cmcs/config.yml"),
        (await Deno.readTextFile(join(p.path, ".cmcs/config.yml"))).replace(
          /command: .*/,
          `command: ${worker}`,
        ),
      );
      await gitIn(p.path, "commit", "-q", "-am", "the leaving worker");
      for (const n of [1, 2]) {
        await p.ticket(`TICKET-00${n}.md`, { title: `T${n}`, agent: "codex", done: false });
      }
      if (autoCommit) await gitIn(p.path, "add", "-A");
      if (autoCommit) await gitIn(p.path, "commit", "-q", "-m", "tickets");
      const run = await p.cmcs(["run"]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const [first, second] = attempts(p);
      const files = (a: typeof first) =>
        (JSON.parse(a.files_changed ?? "[]") as { path: string }[]).map((f) => f.path)
          .filter((path) => !path.startsWith(".cmcs/")).sort();
      assert.deepEqual(files(first), ["late-TICKET-001.txt", "work-TICKET-001.txt"]);
      assert.deepEqual(files(second), ["late-TICKET-002.txt", "work-TICKET-002.txt"]);
      if (autoCommit) {
        const committed = await gitIn(p.path, "show", "--name-only", "--format=", "HEAD~1");
        assert.ok(committed.includes("late-TICKET-001.txt"), committed);
      }
    },
  );
}
