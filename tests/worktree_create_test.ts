/**
 * `cmcs worktree create` with real git worktrees: nested branch names, existing branches, copied
 * ignored files, tickets, the setup command (passing and failing) and the errors that must leave
 * nothing behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { WorktreeRow } from "../src/core/db/types.ts";
import { globToRegExp } from "../src/core/worktrees/bootstrap.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { query } from "./helpers/runs.ts";

function worktreeRows(p: TestProject): WorktreeRow[] {
  return query<WorktreeRow>(p, "SELECT * FROM worktrees ORDER BY path");
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("worktree create makes a nested feat/x worktree from HEAD, registered with a port", async () => {
  await using p = await testProject();
  const result = await p.cmcs(["worktree", "create", "feat/x", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const created = JSON.parse(result.stdout);
  const path = join(p.path, "worktrees", "feat", "x");
  assert.equal(created.path, path);
  assert.equal(created.branch, "feat/x");
  assert.equal(created.new_branch, true);
  assert.equal(created.base_ref, "main");
  assert.equal(created.port, 4300);
  assert.equal(created.head, (await gitIn(p.path, "rev-parse", "HEAD")).trim());
  assert.equal((await gitIn(path, "symbolic-ref", "--short", "HEAD")).trim(), "feat/x");
  assert.ok(await exists(join(path, ".cmcs", "tickets")), "the tickets dir exists");

  const row = worktreeRows(p).find((r) => r.path === path);
  assert.equal(row?.branch, "feat/x");
  assert.equal(row?.status, "active");
  assert.equal(row?.base_ref, "main");
  assert.equal(row?.port, 4300);

  // The worktrees root stays out of the main checkout's status (and so of its auto-commits).
  assert.doesNotMatch(await gitIn(p.path, "status", "--porcelain"), /worktrees/);

  const second = JSON.parse((await p.cmcs(["worktree", "create", "feat/y", "--json"])).stdout);
  assert.equal(second.port, 4301, "each worktree gets its own port");
});

Deno.test("worktree create checks out an existing branch, and refuses one checked out elsewhere", async () => {
  await using p = await testProject();
  await gitIn(p.path, "branch", "topic");
  await gitIn(p.path, "commit", "-q", "--allow-empty", "-m", "later on main");
  const result = await p.cmcs(["worktree", "create", "topic", "--from", "main", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const created = JSON.parse(result.stdout);
  assert.equal(created.new_branch, false);
  assert.equal(created.head, (await gitIn(p.path, "rev-parse", "topic")).trim());
  assert.match(created.warnings.join("\n"), /already exists: checked out as it is, --from ignored/);

  const again = await p.cmcs(["worktree", "create", "topic"]);
  assert.equal(again.code, 1);
  assert.match(
    again.stderr,
    /^error: branch topic is already checked out at .*worktrees\/topic$/m,
  );
  const main = await p.cmcs(["worktree", "create", "main"]);
  assert.equal(main.code, 1);
  assert.match(main.stderr, /^error: branch main is already checked out at /m);
  assert.doesNotMatch(main.stderr, /at .*\n.*at /, "no stack trace");
});

Deno.test("worktree create copies ignored files from worktrees.copy and .worktreeinclude and runs setup", async () => {
  await using p = await testProject({}, {
    worktrees: {
      copy: [".env", "missing.txt", "README.md"],
      setup:
        'printf "%s|%s|%s|%s\\n" "$CMCS_WORKTREE" "$CMCS_BRANCH" "$CMCS_PORT" "$PWD" > setup.out',
      port_range: [5100, 5199],
    },
  });
  await Deno.writeTextFile(join(p.path, ".gitignore"), ".env\nconfig/local.json\nsetup.out\n");
  await Deno.writeTextFile(join(p.path, ".worktreeinclude"), "config/\nnotignored.txt\n");
  await gitIn(p.path, "add", ".gitignore", ".worktreeinclude");
  await gitIn(p.path, "commit", "-q", "-m", "ignore rules");
  await Deno.writeTextFile(join(p.path, ".env"), "SECRET=1\n");
  await Deno.mkdir(join(p.path, "config"));
  await Deno.writeTextFile(join(p.path, "config/local.json"), "{}\n");
  await Deno.writeTextFile(join(p.path, "config/notignored.txt"), "untracked\n");
  await Deno.writeTextFile(join(p.path, "notignored.txt"), "untracked\n");

  const result = await p.cmcs(["worktree", "create", "feat/env", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const created = JSON.parse(result.stdout);
  const path = join(p.path, "worktrees/feat/env");
  assert.deepEqual(created.copied, [".env", "config/local.json"]);
  assert.equal(await Deno.readTextFile(join(path, ".env")), "SECRET=1\n");
  assert.equal(await Deno.readTextFile(join(path, "config/local.json")), "{}\n");
  assert.ok(
    !(await exists(join(path, "notignored.txt"))),
    "a file git does not ignore is not copied",
  );
  assert.ok(!(await exists(join(path, "config/notignored.txt"))));
  assert.ok(!(await exists(join(path, ".cmcs/cmcs.db"))), "the database is never copied");
  const warnings = created.warnings.join("\n");
  assert.match(warnings, /"missing\.txt" matches no untracked file/);
  assert.match(warnings, /not copied: notignored\.txt is not ignored by git/);

  assert.equal(created.setup.ok, true);
  assert.equal(created.setup.exit_code, 0);
  assert.equal(created.port, 5100);
  assert.equal(
    await Deno.readTextFile(join(path, "setup.out")),
    `${path}|feat/env|5100|${path}\n`,
  );
});

Deno.test("a failing setup exits 1 with its output and keeps the worktree for inspection", async () => {
  await using p = await testProject({}, {
    worktrees: { setup: "echo installing; echo 'npm ERR! missing script' >&2; exit 7" },
  });
  const result = await p.cmcs(["worktree", "create", "broken"]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /npm ERR! missing script/);
  assert.match(result.stderr, /^error: the setup command failed \(exit 7\): echo installing/m);
  assert.match(result.stderr, /^hint: the worktree is kept at .*worktrees\/broken for inspection/m);
  const path = join(p.path, "worktrees/broken");
  assert.ok(await exists(join(path, ".git")), "the worktree is kept");
  assert.ok(worktreeRows(p).some((r) => r.path === path && r.status === "active"));
  const log = await Deno.readTextFile(join(p.path, ".cmcs/logs/worktrees/broken/setup.log"));
  assert.match(log, /installing/);
  assert.match(log, /exit 7/);

  const json = await p.cmcs(["worktree", "create", "broken2", "--json"]);
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.setup.ok, false);
  assert.equal(doc.setup.exit_code, 7);
  assert.match(doc.setup.output_tail, /installing\n.*npm ERR!|npm ERR!.*\n.*installing/s);
});

Deno.test("--tickets copies the matching tickets; a glob matching none creates nothing", async () => {
  await using p = await testProject();
  for (const n of ["001", "002", "003", "010"]) {
    await p.ticket(`TICKET-${n}.md`, { title: n, agent: "codex", done: false });
  }
  const none = await p.cmcs(["worktree", "create", "feat/none", "--tickets", "TICKET-9*"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^error: no ticket in \.cmcs\/tickets matches "TICKET-9\*"/m);
  assert.ok(!(await exists(join(p.path, "worktrees/feat/none"))));
  assert.equal((await gitIn(p.path, "branch", "--list", "feat/none")).trim(), "");

  const result = await p.cmcs(["worktree", "create", "feat/t", "--tickets", "TICKET-00[1-2]"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /copied 2 ticket\(s\): TICKET-001\.md, TICKET-002\.md/);
  const names = [];
  for await (const e of Deno.readDir(join(p.path, "worktrees/feat/t/.cmcs/tickets"))) {
    names.push(e.name);
  }
  assert.deepEqual(names.sort(), ["TICKET-001.md", "TICKET-002.md"]);
});

Deno.test("bad branch names and unknown refs are one-line errors that create nothing", async () => {
  await using p = await testProject();
  for (const name of ["bad..name", "-x", "a b", "x.lock", "@{-1}"]) {
    const result = await p.cmcs(["worktree", "create", "--", name]);
    assert.equal(result.code, 1, `${name}: ${result.stderr}`);
    assert.match(result.stderr, /^error: invalid branch name /m, name);
  }
  const ref = await p.cmcs(["worktree", "create", "feat/z", "--from", "no-such-ref"]);
  assert.equal(ref.code, 1);
  assert.match(ref.stderr, /^error: unknown ref "no-such-ref"/m);
  assert.ok(!(await exists(join(p.path, "worktrees"))), "nothing was created");
  assert.equal(worktreeRows(p).length, 1, "only the main checkout is registered");
});

Deno.test("globToRegExp() matches ticket names shell-style, with or without .md", () => {
  const re = globToRegExp("TICKET-00[1-3]");
  assert.ok(re.test("TICKET-001.md"));
  assert.ok(re.test("TICKET-003.md"));
  assert.ok(!re.test("TICKET-004.md"));
  assert.ok(globToRegExp("TICKET-{001,010}.md").test("TICKET-010.md"));
  assert.ok(!globToRegExp("TICKET-0[!0]*").test("TICKET-001.md"));
  assert.ok(globToRegExp("TICKET-0[!0]*").test("TICKET-010.md"));
  assert.throws(() => globToRegExp("TICKET-[1"), /unclosed/);
});

Deno.test("recreating a worktree whose folder was deleted by hand says how to get git past it", async () => {
  await using p = await testProject();
  assert.equal((await p.cmcs(["worktree", "create", "mine"])).code, 0);
  await Deno.remove(join(p.path, "worktrees/mine"), { recursive: true });
  const again = await p.cmcs(["worktree", "create", "mine"]);
  assert.equal(again.code, 1);
  assert.match(
    again.stderr,
    /^error: git worktree add .* failed: .*missing but already registered/m,
  );
  assert.match(
    again.stderr,
    /^hint: its folder was deleted by hand: `git worktree prune` forgets it \(the branch mine stays\), then create it again$/m,
  );
  await gitIn(p.path, "worktree", "prune");
  const third = await p.cmcs(["worktree", "create", "mine"]);
  assert.equal(third.code, 0, third.stderr);
});
