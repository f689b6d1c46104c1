/**
 * What cmcs reads that a person or another program may have replaced with something hostile or
 * broken — the config file, the database — gives one `error:` line and a hint, never a stack
 * trace, never a hang, and loses nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { CliResult } from "./helpers/cli.ts";
import { testProject } from "./helpers/project.ts";

/** Asserts the one-line error shape: `error: …` naming `what`, an optional hint, no stack. */
export function assertOneLineError(out: CliResult, what: RegExp, code = 1): void {
  assert.equal(out.code, code, `exit code; stderr: ${out.stderr}`);
  const lines = out.stderr.trimEnd().split("\n");
  assert.match(lines[0], /^error: /, out.stderr);
  assert.match(lines[0], what, out.stderr);
  assert.ok(lines.length <= 2, `at most an error and a hint line:\n${out.stderr}`);
  if (lines[1] !== undefined) assert.match(lines[1], /^hint: /);
  assert.doesNotMatch(out.stderr, /internal error|\n\s+at /, "no stack trace");
}

for (
  const [name, make] of [
    ["a symlink to /dev/zero", (path: string) => Deno.symlink("/dev/zero", path)],
    [
      "a FIFO",
      async (path: string) => {
        const made = await new Deno.Command("mkfifo", { args: [path] }).output();
        assert.equal(made.code, 0, "mkfifo");
      },
    ],
    [
      "a file of 9 MiB",
      async (path: string) => {
        await Deno.writeTextFile(path, "# big\n");
        await Deno.truncate(path, 9 * 1024 * 1024);
      },
    ],
  ] as const
) {
  Deno.test(`config.yml that is ${name} is refused at once by config show and run, without reading it`, async () => {
    await using p = await testProject();
    const config = join(p.path, ".cmcs/config.yml");
    await Deno.remove(config);
    await make(config);
    for (const args of [["config", "show"], ["run"], ["status"]]) {
      const out = await p.cmcs(args, { timeoutMs: 30_000 });
      if (args[0] === "status") {
        assert.equal(out.code, 0, "status does not need the config: " + out.stderr);
        continue;
      }
      assertOneLineError(out, /config\.yml (is not a regular file|is 9 MiB; it may be at most 8)/);
    }
  });
}

Deno.test("resume re-opens a ticket whose done is written `!!str true` instead of failing with a stack trace", async () => {
  await using p = await testProject();
  const path = await p.ticket("TICKET-001.md", { title: "Tagged" });
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const done = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, done.replace(/^done: true$/m, "done: !!str true # by hand"));

  const resumed = await p.cmcs(["resume", ".", "TICKET-001", "-m", "One more thing."]);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.doesNotMatch(resumed.stderr, /internal error/);
  const validate = await p.cmcs(["ticket", "validate", "--json"]);
  assert.equal(
    JSON.parse(validate.stdout).tickets[0].done,
    true,
    "the worker marked it done again",
  );
});

/**
 * Makes `path` unwritable for cmcs: `chmod 444` for an ordinary user; root ignores modes, so for
 * root the file is made immutable (`chattr +i`). Returns the undo, or null when the file system
 * cannot do either.
 */
async function makeReadOnly(path: string): Promise<(() => Promise<void>) | null> {
  if (Deno.uid() !== 0) {
    await Deno.chmod(path, 0o444);
    return () => Deno.chmod(path, 0o644);
  }
  const run = (flag: string) => new Deno.Command("chattr", { args: [flag, path] }).output();
  const made = await run("+i").catch(() => null);
  if (!made || made.code !== 0) return null;
  return async () => void await run("-i");
}

Deno.test("a read-only database makes run and init say so in one line, and changes nothing", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Waits" });
  const db = join(p.path, ".cmcs/cmcs.db");
  const before = await Deno.readFile(db);
  const undo = await makeReadOnly(db);
  if (undo === null) {
    console.warn("skipped: this file system can make no file read-only for root");
    return;
  }
  try {
    for (const args of [["run"], ["init"]]) {
      const out = await p.cmcs(args);
      assertOneLineError(out, /cmcs\.db is read-only/);
    }
  } finally {
    await undo();
  }
  assert.deepEqual(await Deno.readFile(db), before, "the database is unchanged");
  const validate = await p.cmcs(["ticket", "validate", "--json"]);
  assert.equal(JSON.parse(validate.stdout).tickets[0].done, false, "the ticket did not run");
});

for (
  const [name, make] of [
    ["a symlink to /dev/null", (path: string) => Deno.symlink("/dev/null", path)],
    [
      "a FIFO",
      async (path: string) => {
        assert.equal((await new Deno.Command("mkfifo", { args: [path] }).output()).code, 0);
      },
    ],
  ] as const
) {
  Deno.test(`a cmcs.db that is ${name} is refused in one line by run, status and init`, async () => {
    await using p = await testProject();
    const db = join(p.path, ".cmcs/cmcs.db");
    for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(db + suffix).catch(() => {});
    await make(db);
    for (const args of [["run"], ["status"], ["init"]]) {
      const out = await p.cmcs(args, { timeoutMs: 30_000 });
      assertOneLineError(out, /cmcs\.db is not a regular file/);
    }
  });
}

Deno.test("a database missing one of cmcs's tables is reported as damaged in one line, with what to do", async () => {
  await using p = await testProject();
  const { DatabaseSync } = await import("node:sqlite");
  const raw = new DatabaseSync(join(p.path, ".cmcs/cmcs.db"));
  raw.exec("DROP TABLE events");
  raw.close();
  for (const args of [["run"], ["status"], ["result", "."]]) {
    const out = await p.cmcs(args);
    assertOneLineError(out, /cmcs\.db is damaged: it has no `events` table/);
    assert.match(out.stderr, /^hint: move it aside .* and run `cmcs init`/m);
  }
});

Deno.test("resume --file /dev/zero stops at 8 MiB with one error line and leaves the ticket as it was", async () => {
  await using p = await testProject();
  const path = await p.ticket("TICKET-001.md", { title: "Done once" });
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const before = await Deno.readTextFile(path);
  const out = await p.cmcs(["resume", ".", "TICKET-001", "--file", "/dev/zero"], {
    timeoutMs: 30_000,
  });
  assertOneLineError(out, /feedback file \/dev\/zero is larger than 8 MiB/);
  assert.equal(await Deno.readTextFile(path), before, "the ticket is not re-opened");
});
