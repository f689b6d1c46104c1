/**
 * The per-ticket steps made cheaper for the broker: auto-commits of tracked files without a
 * `git add`, /proc read through one long-lived helper, and ticket files not read again while they
 * sit still. Each keeps the exact result of the slower way.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  attemptChanges,
  commitPaths,
  contentHashes,
  diffBetween,
  snapshotBefore,
} from "../src/core/git_changes.ts";
import { ProcReader } from "../src/core/proc_reader.ts";
import { processStartToken } from "../src/core/process_identity.ts";
import { processesWithToken } from "../src/core/process_tree.ts";
import { discoverTickets } from "../src/core/tickets.ts";
import { gitIn, tempDir, tempRepo } from "./helpers/repo.ts";

/** A repository holding a, b, c and d, all committed. */
async function repoWithFiles() {
  const repo = await tempRepo();
  for (const name of ["a", "b", "c", "d"]) {
    await Deno.writeTextFile(join(repo.path, name), `${name}\n`);
  }
  await gitIn(repo.path, "add", ".");
  await gitIn(repo.path, "commit", "-q", "-m", "files");
  return repo;
}

Deno.test("an auto-commit of tracked edits, deletions and half-staged files commits exactly them and leaves the user's staged file staged", async () => {
  await using repo = await repoWithFiles();
  const before = await snapshotBefore(repo.path);
  await Deno.writeTextFile(join(repo.path, "a"), "a\nedited\n");
  await Deno.remove(join(repo.path, "b"));
  await gitIn(repo.path, "rm", "-q", "c");
  await Deno.writeTextFile(join(repo.path, "d"), "d\nstaged\n");
  await gitIn(repo.path, "add", "d");
  await Deno.writeTextFile(join(repo.path, "d"), "d\nstaged\nand more\n");
  const changes = await attemptChanges(repo.path, before.dirty);
  assert.deepEqual(changes.untracked, []);
  // The user's own staged file, not part of the ticket.
  await Deno.writeTextFile(join(repo.path, "mine"), "mine\n");
  await gitIn(repo.path, "add", "mine");

  const result = await commitPaths(repo.path, ["a", "b", "c", "d"], ["ticket"], {}, {
    untracked: changes.untracked,
  });
  assert.equal(result.error, null);
  const files = await gitIn(repo.path, "show", "--name-status", "--format=", "HEAD");
  assert.deepEqual(files.trim().split("\n").sort(), ["D\tb", "D\tc", "M\ta", "M\td"]);
  assert.equal(await gitIn(repo.path, "show", "HEAD:d"), "d\nstaged\nand more\n");
  // The files come with the commit, as `git diff` between the HEAD before and the commit has them.
  assert.equal(result.parent, before.head);
  assert.deepEqual(result.files, await diffBetween(repo.path, before.head, result.commit!));
  assert.deepEqual(result.files?.map((f) => [f.path, f.added, f.removed]), [
    ["a", 1, 0],
    ["b", 0, 1],
    ["c", 0, 1],
    ["d", 2, 0],
  ]);
  const status = await gitIn(repo.path, "status", "--porcelain");
  assert.equal(status, "A  mine\n");
});

Deno.test("an auto-commit with a new file among its paths adds it", async () => {
  await using repo = await repoWithFiles();
  const before = await snapshotBefore(repo.path);
  await Deno.writeTextFile(join(repo.path, "a"), "a\nedited\n");
  await Deno.mkdir(join(repo.path, "src"));
  await Deno.writeTextFile(join(repo.path, "src/new.ts"), "export {};\n");
  const changes = await attemptChanges(repo.path, before.dirty);
  assert.deepEqual(changes.untracked, ["src/new.ts"]);
  const result = await commitPaths(repo.path, changes.paths, ["ticket"], {}, {
    untracked: changes.untracked,
  });
  assert.equal(result.error, null);
  const files = await gitIn(repo.path, "show", "--name-status", "--format=", "HEAD");
  assert.deepEqual(files.trim().split("\n").sort(), ["A\tsrc/new.ts", "M\ta"]);
  assert.equal(await gitIn(repo.path, "status", "--porcelain"), "");
});

Deno.test("the /proc helper gives the same start tokens and token carriers as a process per look", async () => {
  const reader = ProcReader.start();
  assert.ok(reader);
  const token = crypto.randomUUID();
  const carrier = new Deno.Command("sleep", {
    args: ["600"],
    env: { CMCS_ATTEMPT_ID: token },
    stdin: "null",
  }).spawn();
  try {
    const stats = await reader.stats([carrier.pid, Deno.pid]);
    assert.ok(stats !== null);
    const wanted = processStartToken(carrier.pid);
    assert.ok(wanted !== null);
    assert.match(stats, new RegExp(`^${carrier.pid} \\(sleep\\) \\S+ (\\S+ ){18}${wanted} `, "m"));
    assert.deepEqual(await reader.carriers(`CMCS_ATTEMPT_ID=${token}`), [carrier.pid]);
    assert.deepEqual(processesWithToken(token), [carrier.pid]);
    assert.deepEqual(await reader.carriers(`CMCS_ATTEMPT_ID=${crypto.randomUUID()}`), []);
    assert.equal(await reader.stats([2 ** 22 + 1]), "");
  } finally {
    carrier.kill("SIGKILL");
    await carrier.status;
    await reader.close();
  }
});

Deno.test("a /proc helper that died answers null, so callers fall back to a process per look", async () => {
  const reader = ProcReader.start();
  assert.ok(reader);
  assert.ok((await reader.stats([Deno.pid]))?.startsWith(`${Deno.pid} `));
  Deno.kill(reader.pid, "SIGKILL");
  assert.equal(await reader.stats([Deno.pid]), null);
  assert.equal(await reader.carriers("CMCS_ATTEMPT_ID=x"), null);
  assert.ok(reader.broken);
  await reader.close();
});

Deno.test("a ticket edited after it sat still is read again, even when the edit keeps its size and modification time", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "TICKET-001.md");
  const text = (title: string) => `---\ntitle: ${title}\nagent: codex\ndone: false\n---\n\nBody.\n`;
  await Deno.writeTextFile(path, text("aaaa"));
  const written = await Deno.stat(path);
  // Stillness is judged against this process's clock, which is the file system's on any machine,
  // whatever its date; `faketime` shifts only the process and makes every file look long still.
  const skewMs = Math.abs(Date.now() - written.mtime!.getTime());
  if (skewMs > 60_000) {
    console.warn(`skipped: the process clock is ${skewMs} ms off the file system's (faketime?)`);
    return;
  }
  // Until the file has been still long enough for its status to stand for its bytes.
  const stillAt = Math.max(written.mtime!.getTime(), written.ctime!.getTime()) + 2100;
  while (Date.now() < stillAt) await new Promise((resolve) => setTimeout(resolve, 50));
  const title = async () => {
    const [entry] = await discoverTickets(dir.path);
    assert.ok(entry.ok);
    return entry.ticket.title;
  };
  assert.equal(await title(), "aaaa");
  assert.equal(await title(), "aaaa");
  await Deno.writeTextFile(path, text("bbbb"));
  await Deno.utime(path, written.atime!, written.mtime!);
  assert.equal((await Deno.stat(path)).size, written.size);
  assert.equal(await title(), "bbbb");
});

Deno.test("the first commit of an empty repository comes with its files and no parent", async () => {
  await using dir = await tempDir();
  await gitIn(dir.path, "init", "-q", "-b", "main");
  await gitIn(dir.path, "config", "user.name", "cmcs test");
  await gitIn(dir.path, "config", "user.email", "test@cmcs.invalid");
  const before = await snapshotBefore(dir.path);
  assert.equal(before.head, null);
  await Deno.writeTextFile(join(dir.path, "first.txt"), "one\ntwo\n");
  const changes = await attemptChanges(dir.path, before.dirty);
  const result = await commitPaths(dir.path, changes.paths, ["first"], {}, {
    untracked: changes.untracked,
  });
  assert.equal(result.error, null);
  assert.equal(result.parent, null);
  assert.deepEqual(result.files, [{ path: "first.txt", added: 2, removed: 0 }]);
  assert.deepEqual(result.files, await diffBetween(dir.path, null, result.commit!));
});

Deno.test("an attempt starting from the previous attempt's look counts a file another program wrote in between as its own change", async () => {
  await using repo = await repoWithFiles();
  await Deno.writeTextFile(join(repo.path, "a"), "a\nleft uncommitted\n");
  const previous = await attemptChanges(repo.path, new Map());
  // Written between two tickets, touching nothing of git's: the documented trade-off
  // (docs/reliability.md, "Edits between two tickets").
  await Deno.writeTextFile(join(repo.path, "between.txt"), "between\n");
  const before = await snapshotBefore(repo.path, previous.look);
  assert.equal(before.carried, true);
  assert.deepEqual([...before.dirty.keys()], ["a"]);
  assert.equal(before.dirty.get("a"), (await contentHashes(repo.path, ["a"])).get("a"));
  const changes = await attemptChanges(repo.path, before.dirty);
  assert.deepEqual(changes.paths, ["between.txt"]);
  // A look of its own would have counted it as an edit from before the attempt.
  assert.deepEqual([...(await snapshotBefore(repo.path)).dirty.keys()].sort(), [
    "a",
    "between.txt",
  ]);
});

for (
  const [what, act] of [
    ["a commit", (dir: string) => gitIn(dir, "commit", "-q", "-am", "by the user")],
    ["a git add", (dir: string) => gitIn(dir, "add", "a")],
    ["a checkout of another branch", (dir: string) => gitIn(dir, "checkout", "-q", "-b", "other")],
    ["a commit on a detached HEAD", async (dir: string) => {
      await gitIn(dir, "checkout", "-q", "--detach");
      return gitIn(dir, "commit", "-q", "--allow-empty", "-m", "detached");
    }],
  ] as const
) {
  Deno.test(`the previous attempt's look is not carried over ${what} made by another program`, async () => {
    await using repo = await repoWithFiles();
    await Deno.writeTextFile(join(repo.path, "a"), "a\nedited\n");
    const previous = await attemptChanges(repo.path, new Map());
    if (what.includes("detached")) {
      // Detached before the look, so that only the commit happens in between.
      await gitIn(repo.path, "checkout", "-q", "--detach");
    }
    const look = what.includes("detached")
      ? (await attemptChanges(repo.path, new Map())).look
      : previous.look;
    await act(repo.path);
    const before = await snapshotBefore(repo.path, look);
    assert.equal(before.carried, false);
    const fresh = await snapshotBefore(repo.path);
    assert.equal(before.head, fresh.head);
    assert.deepEqual(before.dirty, fresh.dirty);
  });
}

Deno.test("the look after an auto-commit is taken after it: a file its pre-commit hook writes is an edit from before the next attempt", async () => {
  await using repo = await repoWithFiles();
  const hook = join(repo.path, ".git/hooks/pre-commit");
  await Deno.writeTextFile(hook, "#!/bin/sh\necho hooked > hooked.txt\n");
  await Deno.chmod(hook, 0o755);
  const before = await snapshotBefore(repo.path);
  await Deno.writeTextFile(join(repo.path, "a"), "a\nticket\n");
  const changes = await attemptChanges(repo.path, before.dirty);
  assert.deepEqual(changes.paths, ["a"]);
  const result = await commitPaths(repo.path, changes.paths, ["ticket"], {}, {
    untracked: changes.untracked,
    lookAfter: true,
  });
  assert.equal(result.error, null);
  assert.equal((await result.look)?.head, result.commit);
  const next = await snapshotBefore(repo.path, result.look);
  assert.equal(next.carried, true);
  assert.deepEqual([...next.dirty.keys()], ["hooked.txt"]);
  assert.equal(next.head, result.commit);
});

Deno.test("an ordinary commit passes its message and paths as arguments, a long one through files, with the same message", async () => {
  await using repo = await repoWithFiles();
  await using tmp = await tempDir();
  const hook = join(repo.path, ".git/hooks/pre-commit");
  // Counts the files cmcs prepared for the commit while git runs it.
  await Deno.writeTextFile(
    hook,
    `#!/bin/sh\nls "${tmp.path}" | grep -c '^cmcs-' >> "${tmp.path}/../counts-${
      tmp.path.split("/").pop()
    }"\nexit 0\n`,
  );
  await Deno.chmod(hook, 0o755);
  const counts = join(tmp.path, `../counts-${tmp.path.split("/").pop()}`);
  const saved = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", tmp.path);
  try {
    for (const [file, title] of [["a", "short title"], ["b", "long ".repeat(4000)]]) {
      await Deno.writeTextFile(join(repo.path, file), `${file}\nedited\n`);
      const message = [title.trim(), "Committed by cmcs.", "Cmcs-Attempt: 1/2"];
      const result = await commitPaths(repo.path, [file], message, {}, { untracked: [] });
      assert.equal(result.error, null);
      assert.equal(
        await gitIn(repo.path, "log", "-1", "--format=%B"),
        message.join("\n\n") + "\n\n",
      );
    }
  } finally {
    if (saved === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", saved);
  }
  assert.deepEqual((await Deno.readTextFile(counts)).trim().split("\n"), ["0", "2"]);
  await Deno.remove(counts);
});
