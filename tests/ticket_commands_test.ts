import assert from "node:assert/strict";
import { join } from "node:path";
import { cmcs } from "./helpers/cli.ts";
import { gitIn, tempDir, tempRepo } from "./helpers/repo.ts";

/** A temp git repository with `.cmcs/tickets/` created by hand (as `cmcs init` would). */
async function initializedRepo(tickets: Record<string, string> = {}) {
  const repo = await tempRepo();
  const dir = join(repo.path, ".cmcs", "tickets");
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(tickets)) {
    await Deno.writeTextFile(join(dir, name), text);
  }
  return Object.assign(repo, { ticketsDir: dir });
}

Deno.test("ticket validate prints OK or each problem per ticket and exits 1 on a problem", async () => {
  await using repo = await initializedRepo({
    "TICKET-10.md": "---\ntitle: Ten\ndone: true\n---\n",
    "TICKET-2.md": "---\ntitle: Two\n\ndone: on\n---\n",
    "TICKET-001.md": "---\ntitle: One\n---\n",
    "TICKET-3.md": "# no front matter\n",
  });
  const result = await cmcs(["ticket", "validate"], { cwd: repo.path });
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stderr, "");
  const lines = result.stdout.trimEnd().split("\n");
  assert.deepEqual(lines.slice(0, 4), [
    "TICKET-001.md  OK       One",
    'TICKET-2.md    line 4:  done must be true or false (yes/no are accepted too), got "on"',
    "TICKET-3.md    line 1:  no front matter: the file must start with a `---` line, fields such as " +
    "`title: …`, then a closing `---` line",
    "TICKET-10.md   OK       Ten (done)",
  ]);
  assert.equal(
    lines[4],
    `4 tickets in ${repo.ticketsDir}: 2 OK (1 done), 2 with 2 problems`,
  );
});

Deno.test("ticket validate exits 0 when every ticket is OK, and on no tickets", async () => {
  await using repo = await initializedRepo({ "TICKET-001.md": "---\ntitle: A\n---\n" });
  const good = await cmcs(["ticket", "validate", repo.path], { cwd: "/" });
  assert.equal(good.code, 0, good.stderr);
  assert.equal(
    good.stdout,
    `TICKET-001.md  OK  A\n1 ticket in ${repo.ticketsDir}: 1 OK (0 done)\n`,
  );

  await Deno.remove(join(repo.ticketsDir, "TICKET-001.md"));
  const none = await cmcs(["ticket", "validate"], { cwd: repo.path });
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stdout, `no tickets in ${repo.ticketsDir}\n`);
});

Deno.test("ticket validate --json prints one document with each ticket and its problems", async () => {
  await using repo = await initializedRepo({
    "TICKET-001.md":
      "---\ntitle: One\nmodel: gpt-5.5\nreasoning_effort: high\nextra: 1\ndon: true\nEffort: low\n---\n",
    "TICKET-002.md": "---\ntitle: 5\ntimeout_s: 0\n---\n",
  });
  const result = await cmcs(["ticket", "validate", "--json"], { cwd: repo.path });
  assert.equal(result.code, 1, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), {
    tickets_dir: repo.ticketsDir,
    tickets: [
      {
        file: "TICKET-001.md",
        id: "TICKET-001",
        ok: true,
        title: "One",
        done: false,
        agent: "codex",
        model: "gpt-5.5",
        reasoning_effort: "high",
        problems: [],
        warnings: [
          'unknown field "don": did you mean done?',
          'unknown field "Effort": did you mean reasoning_effort?',
        ],
      },
      {
        file: "TICKET-002.md",
        id: "TICKET-002",
        ok: false,
        title: null,
        done: null,
        agent: null,
        model: null,
        reasoning_effort: null,
        problems: [
          { line: 2, message: 'title must be text, got a number (5): quote it, e.g. title: "…"' },
          { line: 3, message: "timeout_s must be a positive number of seconds, got a number (0)" },
        ],
        warnings: [],
      },
    ],
    problems: 2,
  });
  const text = await cmcs(["ticket", "validate"], { cwd: repo.path });
  assert.match(
    text.stdout,
    /^TICKET-001\.md +OK +One \(warning: unknown field "don": did you mean done\?\) \(warning: unknown field "Effort": did you mean reasoning_effort\?\)$/m,
  );
});

Deno.test("ticket validate in a linked worktree reads the worktree's own tickets", async () => {
  await using repo = await initializedRepo({ "TICKET-001.md": "---\ntitle: Shared\n---\n" });
  await gitIn(repo.path, "add", ".cmcs/tickets");
  await gitIn(repo.path, "commit", "-q", "-m", "tickets");
  const worktree = join(repo.path, "..", `${repo.path.split("/").pop()}-wt`);
  await gitIn(repo.path, "worktree", "add", "-q", "-b", "feat", worktree);
  try {
    const wtTickets = join(worktree, ".cmcs", "tickets");
    await Deno.writeTextFile(join(wtTickets, "TICKET-002.md"), "---\ntitle: Only here\n---\n");
    const result = await cmcs(["ticket", "validate", "--json"], { cwd: worktree });
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout);
    assert.equal(doc.tickets_dir, wtTickets);
    assert.deepEqual(doc.tickets.map((t: { title: string }) => t.title), ["Shared", "Only here"]);
  } finally {
    await Deno.remove(worktree, { recursive: true });
  }
});

Deno.test("ticket validate honours tickets.dir and refuses one outside the target", async () => {
  await using repo = await initializedRepo();
  await Deno.mkdir(join(repo.path, "work"));
  await Deno.writeTextFile(join(repo.path, "work", "TICKET-1.md"), "---\ntitle: Moved\n---\n");
  const config = join(repo.path, ".cmcs", "config.yml");
  await Deno.writeTextFile(config, "tickets:\n  dir: work\n");
  const moved = await cmcs(["ticket", "validate"], { cwd: repo.path });
  assert.equal(moved.code, 0, moved.stderr);
  assert.ok(moved.stdout.startsWith("TICKET-1.md  OK  Moved\n"), moved.stdout);

  await Deno.writeTextFile(config, "tickets:\n  dir: ../elsewhere\n");
  const outside = await cmcs(["ticket", "validate"], { cwd: repo.path });
  assert.equal(outside.code, 1);
  assert.equal(outside.stdout, "");
  assert.match(outside.stderr, /^error: .*\.\.\/elsewhere/m);
  assert.doesNotMatch(outside.stderr, /\n\s+at /, "no stack trace");
});

Deno.test("ticket validate in an uninitialized repository says to run cmcs init", async () => {
  await using repo = await tempRepo();
  const result = await cmcs(["ticket", "validate"], { cwd: repo.path });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: cmcs is not initialized in /);
  assert.match(result.stderr, /^hint: run `cmcs init`/m);
});

Deno.test("ticket new writes the next-numbered ticket from the template and prints its path", async () => {
  await using repo = await initializedRepo();
  await Deno.remove(repo.ticketsDir);

  const first = await cmcs(["ticket", "new", "--title", "Add a README"], { cwd: repo.path });
  assert.equal(first.code, 0, first.stderr);
  const firstPath = join(repo.ticketsDir, "TICKET-001.md");
  assert.equal(first.stdout, `${firstPath}\n`);
  const text = await Deno.readTextFile(firstPath);
  assert.match(text, /^---\ntitle: Add a README\nagent: codex\ndone: false\n---\n/);
  assert.match(text, /## Goal\n[\s\S]*## Task\n[\s\S]*## Acceptance Criteria\n/);

  const second = await cmcs(
    [
      "ticket",
      "new",
      ".",
      "--title",
      'Fix: the "yes" bug',
      "--model",
      "gpt-5.5",
      "--effort",
      "high",
      "--json",
    ],
    { cwd: repo.path },
  );
  assert.equal(second.code, 0, second.stderr);
  const secondPath = join(repo.ticketsDir, "TICKET-002.md");
  assert.deepEqual(JSON.parse(second.stdout), {
    path: secondPath,
    id: "TICKET-002",
    file: "TICKET-002.md",
    title: 'Fix: the "yes" bug',
    skipped: [],
  });

  const check = await cmcs(["ticket", "validate", "--json"], { cwd: repo.path });
  assert.equal(check.code, 0, check.stdout);
  const tickets = JSON.parse(check.stdout).tickets;
  assert.deepEqual(tickets[1], {
    file: "TICKET-002.md",
    id: "TICKET-002",
    ok: true,
    title: 'Fix: the "yes" bug',
    done: false,
    agent: "codex",
    model: "gpt-5.5",
    reasoning_effort: "high",
    problems: [],
    warnings: [],
  });
});

Deno.test("ticket new refuses an empty title or an unknown effort with exit 2", async () => {
  await using repo = await initializedRepo();
  const blank = await cmcs(["ticket", "new", "--title", "   "], { cwd: repo.path });
  assert.equal(blank.code, 2);
  assert.equal(blank.stdout, "");
  assert.match(blank.stderr, /^error: --title must not be empty\nhint: /);

  const effort = await cmcs(["ticket", "new", "--title", "x", "--effort", "max"], {
    cwd: repo.path,
  });
  assert.equal(effort.code, 2);
  assert.match(effort.stderr, /error: option '--effort <effort>' argument 'max' is invalid/);

  const missing = await cmcs(["ticket", "new"], { cwd: repo.path });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--title/);
  assert.deepEqual([...Deno.readDirSync(repo.ticketsDir)], [], "nothing was written");
});

Deno.test("ticket new numbers after the tickets of the repository's other worktrees, so their branches merge cleanly", async () => {
  await using repo = await initializedRepo({ "TICKET-001.md": "---\ntitle: One\n---\n" });
  await gitIn(repo.path, "add", ".cmcs/tickets");
  await gitIn(repo.path, "commit", "-q", "-m", "first ticket");
  await using outside = await tempDir();
  const api = join(repo.path, "worktrees", "api");
  const ui = join(outside.path, "ui");
  await gitIn(repo.path, "worktree", "add", "-q", "-b", "feat/api", api);
  await gitIn(repo.path, "worktree", "add", "-q", "-b", "feat/ui", ui);
  const newTicket = async (cwd: string, title: string) => {
    const result = await cmcs(["ticket", "new", "--title", title], { cwd });
    assert.equal(result.code, 0, result.stderr);
    return result;
  };

  const first = await newTicket(api, "API routes");
  assert.equal(first.stdout, `${join(api, ".cmcs/tickets/TICKET-002.md")}\n`);
  assert.equal(first.stderr, "", "no other worktree has a TICKET-002: nothing to say");
  const second = await newTicket(join(ui, ".cmcs"), "UI page");
  assert.equal(second.stdout, `${join(ui, ".cmcs/tickets/TICKET-003.md")}\n`);
  assert.equal(
    second.stderr,
    `note: skipped the number of ${
      join(api, ".cmcs/tickets/TICKET-002.md")
    } (another worktree of this repository)\n`,
  );
  const third = await cmcs(["ticket", "new", "--title", "Main follow-up", "--json"], {
    cwd: repo.path,
  });
  assert.equal(third.code, 0, third.stderr);
  assert.deepEqual(JSON.parse(third.stdout), {
    path: join(repo.ticketsDir, "TICKET-004.md"),
    id: "TICKET-004",
    file: "TICKET-004.md",
    title: "Main follow-up",
    skipped: [join(api, ".cmcs/tickets/TICKET-002.md"), join(ui, ".cmcs/tickets/TICKET-003.md")],
  });
  assert.match(third.stderr, /^note: skipped the numbers of .*TICKET-002\.md, .*TICKET-003\.md /);

  // Streams given their own ranges keep them: numbers below a stream's own tickets are not taken.
  await Deno.writeTextFile(join(api, ".cmcs/tickets/TICKET-200.md"), "---\ntitle: Range\n---\n");
  await Deno.writeTextFile(join(ui, ".cmcs/tickets/TICKET-250.md"), "---\ntitle: Range\n---\n");
  const ranged = await newTicket(api, "API errors");
  assert.equal(ranged.stdout, `${join(api, ".cmcs/tickets/TICKET-201.md")}\n`);

  for (const [dir, branch] of [[api, "feat/api"], [ui, "feat/ui"]]) {
    await gitIn(dir, "add", ".cmcs/tickets");
    await gitIn(dir, "commit", "-q", "-m", `tickets of ${branch}`);
  }
  await gitIn(repo.path, "add", ".cmcs/tickets");
  await gitIn(repo.path, "commit", "-q", "-m", "main ticket");
  await gitIn(repo.path, "merge", "-q", "--no-edit", "feat/api");
  await gitIn(repo.path, "merge", "-q", "--no-edit", "feat/ui");
  assert.deepEqual([...Deno.readDirSync(repo.ticketsDir)].map((e) => e.name).sort(), [
    "TICKET-001.md",
    "TICKET-002.md",
    "TICKET-003.md",
    "TICKET-004.md",
    "TICKET-200.md",
    "TICKET-201.md",
    "TICKET-250.md",
  ]);
});

Deno.test("ticket new outside any repository still needs cmcs init first", async () => {
  await using dir = await tempDir();
  const result = await cmcs(["ticket", "new", "--title", "x"], { cwd: dir.path });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: cmcs is not initialized/);
});
