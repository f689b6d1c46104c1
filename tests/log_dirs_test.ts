/**
 * A run's log directory is never reused: run ids stay above every id that has logs, whatever
 * happened to the database in between.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";

/** Every file under `dir` with its content, by path relative to `dir`. */
async function snapshot(dir: string, prefix = ""): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) Object.assign(files, await snapshot(dir, rel));
    else files[rel] = await Deno.readTextFile(join(dir, rel));
  }
  return files;
}

Deno.test("following the damaged-database advice (move cmcs.db aside, cmcs init) keeps the old logs: the next run gets a new id", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "First" });
  const first = await p.cmcs(["run", "--json"]);
  assert.equal(first.code, 0, first.stderr);
  const logs = join(p.path, ".cmcs/logs");
  const oldRun = await snapshot(join(logs, "1"));
  assert.ok(Object.keys(oldRun).length > 0, "run 1 wrote logs");

  const db = join(p.path, ".cmcs/cmcs.db");
  for (const suffix of ["", "-wal", "-shm"]) {
    await Deno.rename(db + suffix, `${db}${suffix}.damaged`).catch(() => {});
  }
  const init = await p.cmcs(["init"]);
  assert.equal(init.code, 0, init.stderr);
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "first done");
  await p.ticket("TICKET-002.md", { title: "Second" });

  const second = await p.cmcs(["run"]);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.match(second.stdout, /^run 2 started/m, "the new database does not start again at 1");
  assert.deepEqual(await snapshot(join(logs, "1")), oldRun, "run 1's logs are untouched");
  const result = await p.cmcs(["result", ".", "TICKET-002", "--json"]);
  // `log_dir` is relative to .cmcs/logs/ in the lean JSON.
  assert.equal(JSON.parse(result.stdout).attempts[0].log_dir, "2/TICKET-002.1");
});
