/**
 * `cmcs run` end to end with the stand-in worker: order, commits, the worker's command line and
 * prompt, big tickets, skipped and malformed tickets, dry runs, exit codes of `run` and `wait`,
 * one run per target, and `status` polled during a long run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { EventRow } from "../src/core/db/types.ts";
import { directive } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { attempts, query, runs, until } from "./helpers/runs.ts";

async function codexTickets(p: TestProject, count: number, body = (_i: number) => "Do it.\n") {
  for (let i = 1; i <= count; i++) {
    const id = String(i).padStart(3, "0");
    await p.ticket(
      `TICKET-${id}.md`,
      { title: `Task ${id}`, agent: "codex", done: false },
      body(i),
    );
  }
}

Deno.test("run works through ten tickets in order with one commit per ticket", async () => {
  await using p = await testProject();
  await codexTickets(p, 10);
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "tickets");

  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stderr);

  const subjects = (await gitIn(p.path, "log", "--reverse", "--format=%s")).trim().split("\n");
  assert.deepEqual(
    subjects.slice(-10),
    Array.from({ length: 10 }, (_, i) => {
      const id = String(i + 1).padStart(3, "0");
      return `TICKET-${id}: Task ${id}`;
    }),
  );
  assert.equal(subjects.length, 13, "initial + cmcs init + tickets + ten ticket commits");
  for (let i = 1; i <= 10; i++) {
    const text = await Deno.readTextFile(
      join(p.path, `.cmcs/tickets/TICKET-${String(i).padStart(3, "0")}.md`),
    );
    assert.match(text, /^done: true$/m);
    assert.match(text, /^## Progress$/m);
  }
  const rows = attempts(p);
  assert.equal(rows.length, 10);
  assert.deepEqual(rows.map((a) => a.outcome), Array(10).fill("done"));
  assert.deepEqual(
    rows.map((a) => a.ticket),
    Array.from({ length: 10 }, (_, i) => `TICKET-${String(i + 1).padStart(3, "0")}`),
  );
  assert.equal(
    (await gitIn(p.path, "status", "--porcelain")).trim(),
    "",
    "nothing left uncommitted",
  );
  const calls = await p.calls();
  assert.deepEqual(
    calls.map((c) => String(c.ticket_path).split("/").at(-1)),
    rows.map((a) => `${a.ticket}.md`),
  );
});

Deno.test("an auto-commit never includes the database, the logs or an unrelated earlier edit", async () => {
  await using p = await testProject();
  // Without .cmcs/.gitignore the database and logs show up as untracked files: cmcs must still
  // leave them out.
  await Deno.remove(join(p.path, ".cmcs/.gitignore"));
  await codexTickets(p, 2);
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "tickets, no .gitignore");
  await Deno.writeTextFile(join(p.path, "README.md"), "# test repo\nmy own edit, not done yet\n");

  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stderr);

  const committed = (await gitIn(p.path, "log", "-2", "--name-only", "--format=")).trim().split(
    /\n+/,
  );
  assert.deepEqual(committed.sort(), [
    ".cmcs/tickets/TICKET-001.md",
    ".cmcs/tickets/TICKET-002.md",
    "fake-output/TICKET-001.txt",
    "fake-output/TICKET-002.txt",
  ]);
  const status = await gitIn(p.path, "status", "--porcelain", "--untracked-files=all");
  assert.match(status, /^ M README\.md$/m, "the user's edit is still uncommitted");
  assert.match(status, /\.cmcs\/cmcs\.db/);
  assert.match(status, /\.cmcs\/logs\//);
  assert.equal(
    await Deno.readTextFile(join(p.path, "README.md")),
    "# test repo\nmy own edit, not done yet\n",
  );
});

Deno.test("a 1 MB ticket reaches the worker whole on stdin and is done", async () => {
  await using p = await testProject();
  const line = "Make the widget frobnicate correctly in every configuration we support.\n";
  const body = line.repeat(Math.ceil(1_048_576 / line.length));
  await p.ticket("TICKET-001.md", { title: "Huge", agent: "codex", done: false }, body);

  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stderr);
  const [call] = await p.calls();
  assert.ok(Number(call.prompt_length) > body.length, `prompt_length ${call.prompt_length}`);
  assert.equal(call.has_anchor, true);
  assert.deepEqual(call.argv && (call.argv as string[]).at(-1), "-", "prompt read from stdin");
  assert.equal(attempts(p)[0].outcome, "done");
});

Deno.test("the worker's command line carries only the configured options, the prompt the contract", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Plain", agent: "codex", done: false });
  await p.ticket(
    "TICKET-002.md",
    { title: "Tuned", agent: "codex", done: false, model: "gpt-x", reasoning_effort: "high" },
    "Second task: UNIQUE-BODY-MARKER-2.\n",
  );
  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stderr);
  const [first, second] = await p.calls() as { argv: string[]; [k: string]: unknown }[];
  const logs = join(p.path, ".cmcs/logs/1");

  assert.deepEqual(first.argv, [
    "exec",
    "--json",
    "-s",
    "danger-full-access",
    "-C",
    p.path,
    "--skip-git-repo-check",
    "-o",
    join(logs, "TICKET-001.1/last-message.md"),
    "-",
  ]);
  assert.deepEqual(second.argv.slice(0, 6), [
    "exec",
    "--json",
    "-m",
    "gpt-x",
    "-c",
    "model_reasoning_effort=high",
  ]);
  assert.equal(second.model, "gpt-x");
  assert.equal(second.effort, "high");

  const prompt = await Deno.readTextFile(join(logs, "TICKET-002.1/prompt.md"));
  const ticketPath = join(p.path, ".cmcs/tickets/TICKET-002.md");
  assert.ok(prompt.includes(`update the ticket file at ${ticketPath}:`), prompt);
  assert.match(prompt, /UNIQUE-BODY-MARKER-2/);
  assert.match(prompt, /title: Tuned/, "the ticket's front matter is part of the prompt");
  // The previous ticket's Progress, as the worker wrote it.
  const previous = await Deno.readTextFile(join(p.path, ".cmcs/tickets/TICKET-001.md"));
  const progress = previous.slice(previous.indexOf("## Progress"));
  assert.ok(progress.length > "## Progress".length);
  assert.ok(prompt.includes(progress.replace(/^## Progress\s*/, "").trim()), prompt);
});

Deno.test("model, effort, sandbox and extra args from the config reach the worker", async () => {
  await using p = await testProject({
    model: "cfg-model",
    reasoning_effort: "low",
    sandbox: "workspace-write",
    extra_args: ["--ephemeral"],
  });
  await p.ticket("TICKET-001.md", { title: "One", agent: "codex", done: false });
  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stderr);
  const [call] = await p.calls() as { argv: string[] }[];
  assert.deepEqual(call.argv, [
    "exec",
    "--json",
    "-m",
    "cfg-model",
    "-c",
    "model_reasoning_effort=low",
    "-s",
    "workspace-write",
    "-C",
    p.path,
    "--skip-git-repo-check",
    "-o",
    join(p.path, ".cmcs/logs/1/TICKET-001.1/last-message.md"),
    "--ephemeral",
    "-",
  ]);
});

Deno.test("stderr noise and Codex's warning items do not fail a ticket", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Noisy", agent: "codex", done: false },
    `Do it.\n${directive("stderr-noise")}\n`,
  );
  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stderr);
  const [attempt] = attempts(p);
  assert.equal(attempt.outcome, "done");
  const stderr = await Deno.readTextFile(
    join(p.path, ".cmcs/logs", attempt.log_dir!, "stderr.log"),
  );
  assert.match(stderr, /ERROR codex_core/, "the noise was there and kept");
  const jsonl = await Deno.readTextFile(
    join(p.path, ".cmcs/logs", attempt.log_dir!, "codex.jsonl"),
  );
  assert.match(jsonl, /"type":"error"/, "an item.type error warning was in the stream");
});

Deno.test("tickets for other agents are skipped with one message per run", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "A", agent: "codex", done: false });
  await p.ticket("TICKET-002.md", { title: "B", agent: "claude", done: false });
  await p.ticket("TICKET-003.md", { title: "C", agent: "codex", done: false });
  await p.ticket("TICKET-004.md", { title: "D", agent: "codex", done: false });

  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stderr);
  const skipLines = result.stdout.split("\n").filter((l) => /skip/i.test(l));
  assert.deepEqual(skipLines, ["TICKET-002  skipped (agent: claude)"]);
  const events = query<EventRow>(p, "SELECT * FROM events WHERE event = 'skipped'");
  assert.equal(events.length, 1);
  assert.deepEqual((await p.calls()).map((c) => String(c.ticket_path).split("/").at(-1)), [
    "TICKET-001.md",
    "TICKET-003.md",
    "TICKET-004.md",
  ]);
  const other = await Deno.readTextFile(join(p.path, ".cmcs/tickets/TICKET-002.md"));
  assert.match(other, /^done: false$/m);
});

Deno.test("--dry-run lists exactly what would be dispatched, with model and effort, and runs nothing", async () => {
  await using p = await testProject({ model: "cfg-model", reasoning_effort: "medium" });
  await p.ticket("TICKET-001.md", { title: "Done already", agent: "codex", done: true });
  await p.ticket("TICKET-002.md", { title: "Config defaults", agent: "codex", done: false });
  await p.ticket("TICKET-003.md", { title: "For Claude", agent: "claude", done: false });
  await p.ticket("TICKET-004.md", {
    title: "Own model",
    agent: "codex",
    done: false,
    model: "ticket-model",
    reasoning_effort: "xhigh",
  });

  const text = await p.cmcs(["run", "--dry-run"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /would run 2 tickets/);
  assert.match(text.stdout, /TICKET-002\s+cfg-model\s+medium\s+Config defaults/);
  assert.match(text.stdout, /TICKET-004\s+ticket-model\s+xhigh\s+Own model/);
  assert.doesNotMatch(text.stdout, /TICKET-001/);
  assert.match(text.stdout, /skipping TICKET-003 \(agent: claude\)/);

  const json = await p.cmcs(["run", "--dry-run", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout);
  assert.deepEqual(
    doc.targets[0].dispatch.map((
      d: Record<string, unknown>,
    ) => [d.ticket, d.model, d.reasoning_effort]),
    [["TICKET-002", "cfg-model", "medium"], ["TICKET-004", "ticket-model", "xhigh"]],
  );
  assert.deepEqual(await p.calls(), [], "nothing was dispatched");
  assert.deepEqual(runs(p), [], "no run was recorded");
});

Deno.test("run --json prints one JSON document and keeps progress off stdout", async () => {
  await using p = await testProject();
  await codexTickets(p, 2);
  const result = await p.cmcs(["run", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const doc = JSON.parse(result.stdout);
  assert.equal(doc.runs.length, 1);
  assert.equal(doc.runs[0].status, "completed");
  assert.deepEqual(
    doc.runs[0].tickets.map((t: Record<string, unknown>) => [t.ticket, t.outcome]),
    [["TICKET-001", "done"], ["TICKET-002", "done"]],
  );
  assert.match(result.stderr, /TICKET-001\s+done/);
});

Deno.test("run exits 0 when every ticket is done and 1 when one fails; wait reports the same", async () => {
  await using p = await testProject({ max_retries: 0 });
  await p.ticket("TICKET-001.md", { title: "Fine", agent: "codex", done: false });
  const ok = await p.cmcs(["run"]);
  assert.equal(ok.code, 0, ok.stderr);
  const waitOk = await p.cmcs(["wait", "--json"]);
  assert.equal(waitOk.code, 0, waitOk.stderr);
  assert.equal(JSON.parse(waitOk.stdout).runs[0].status, "completed");

  await p.ticket(
    "TICKET-002.md",
    { title: "Broken", agent: "codex", done: false },
    `Do it.\n${directive("fail", "the", "build", "is", "red")}\n`,
  );
  await p.ticket("TICKET-003.md", { title: "Never reached", agent: "codex", done: false });
  const failed = await p.cmcs(["run"]);
  assert.equal(failed.code, 1, failed.stdout);
  assert.match(failed.stdout, /TICKET-002\s+worker_failed .*: the build is red/);
  assert.match(failed.stdout, /run 2 failed/);
  assert.equal((await p.calls()).length, 2, "TICKET-003 never started");

  const waitFailed = await p.cmcs(["wait"]);
  assert.equal(waitFailed.code, 1);
  assert.match(waitFailed.stdout, /run 2 \(\.\) failed/);
});

Deno.test("wait without any run exits 1 with a hint", async () => {
  await using p = await testProject();
  const result = await p.cmcs(["wait"]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: no runs yet for \./m);
  assert.match(result.stderr, /^hint: .*cmcs run/m);
});

Deno.test("wait --timeout exits 124 while the run is still going, then 0 once it completed", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Slow", agent: "codex", done: false },
    `Do it.\n${directive("slow", 3)}\n`,
  );
  const running = p.cmcs(["run"]);
  await until("the run to start", () => runs(p).length > 0);
  const timedOut = await p.cmcs(["wait", "--timeout", "0.2"]);
  assert.equal(timedOut.code, 124, timedOut.stdout + timedOut.stderr);
  assert.match(timedOut.stderr, /timed out/);
  const waited = await p.cmcs(["wait", "--timeout", "60"]);
  assert.equal(waited.code, 0, waited.stdout + waited.stderr);
  assert.equal((await running).code, 0);
});

Deno.test("a second run on the same target is refused and names the run in progress", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Slow", agent: "codex", done: false },
    `Do it.\n${directive("slow", 30)}\n`,
  );
  const first = p.cmcs(["run"]);
  await until("the worker to start", () => attempts(p)[0]?.worker_pid);
  const second = await p.cmcs(["run"]);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /^error: .*run 1 is already running/m);
  assert.equal(runs(p).length, 1, "no second run was recorded");
  assert.equal((await p.calls()).length, 1, "no second worker was started");

  const stopped = await p.cmcs(["stop", "."]);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal((await first).code, 1);
});

Deno.test("status polled during a 30-ticket run never marks it interrupted", async () => {
  // No commits: this test is about liveness between tickets, and it is long enough as it is.
  await using p = await testProject({ auto_commit: false });
  await codexTickets(p, 30);
  const running = p.cmcs(["run"], { timeoutMs: 120_000 });
  let finished = false;
  void running.then(() => finished = true);
  const seen = new Set<string>();
  let polls = 0;
  while (!finished) {
    const status = await p.cmcs(["status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    for (const run of JSON.parse(status.stdout).runs) seen.add(run.status);
    assert.doesNotMatch(status.stderr, /interrupted/);
    polls++;
  }
  const result = await running;
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.ok(polls >= 3, `status ran ${polls} times during the run`);
  assert.ok(seen.has("running"));
  assert.ok(!seen.has("interrupted"));
  const [run] = runs(p);
  assert.equal(run.status, "completed");
  assert.equal(attempts(p).filter((a) => a.outcome === "done").length, 30);
});

Deno.test("a malformed ticket reached mid-run fails the run with its problem and is never dispatched", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Fine", agent: "codex", done: false });
  await Deno.writeTextFile(
    join(p.path, ".cmcs/tickets/TICKET-002.md"),
    "---\ntitle: Broken\nagent: codex\ndone: [not, closed\n---\n\nBody.\n",
  );
  await p.ticket("TICKET-003.md", { title: "After", agent: "codex", done: false });

  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const [run] = runs(p);
  assert.equal(run.status, "failed");
  assert.match(run.message ?? "", /^TICKET-002\.md:\d+: \S/, run.message ?? "");
  assert.ok(result.stdout.includes(run.message!), "run prints the problem");
  assert.deepEqual(
    (await p.calls()).map((c) => String(c.ticket_path).split("/").at(-1)),
    ["TICKET-001.md"],
  );
  assert.deepEqual(attempts(p).map((a) => [a.ticket, a.outcome]), [["TICKET-001", "done"]]);
  const status = JSON.parse((await p.cmcs(["status", "--json"])).stdout);
  assert.equal(status.runs[0].status, "failed");
  assert.equal(query(p, "SELECT * FROM runs WHERE status = 'running'").length, 0);
  assert.equal(query(p, "SELECT * FROM attempts WHERE outcome IS NULL").length, 0);
});

Deno.test("a failing commit hook fails the ticket as commit_failed and re-opens it; the next run commits the work", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Hooked", agent: "codex", done: false });
  const hook = join(p.path, ".git/hooks/pre-commit");
  await Deno.writeTextFile(hook, "#!/bin/sh\necho 'lint says no' >&2\nexit 1\n");
  await Deno.chmod(hook, 0o755);
  const before = await gitIn(p.path, "rev-parse", "HEAD");

  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(
    result.stdout,
    /^TICKET-001 {2}commit_failed .*auto-commit failed, changes left uncommitted: git commit failed: .*lint says no/m,
  );
  const [attempt] = attempts(p);
  assert.equal(attempt.outcome, "commit_failed");
  assert.match(attempt.message ?? "", /auto-commit failed.*lint says no/);
  assert.equal(await gitIn(p.path, "rev-parse", "HEAD"), before, "no commit was made");
  assert.match(await gitIn(p.path, "status", "--porcelain"), /fake-output\//);
  const ticket = join(p.path, ".cmcs/tickets/TICKET-001.md");
  assert.match(await Deno.readTextFile(ticket), /^done: false$/m, "re-opened, not skipped later");

  // With the hook mended, the next run does the ticket again and commits its work with it.
  await Deno.remove(hook);
  const again = await p.cmcs(["run"]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(await Deno.readTextFile(ticket), /^done: true$/m);
  assert.equal(await gitIn(p.path, "status", "--porcelain", "--", "fake-output"), "");
  assert.equal((await gitIn(p.path, "log", "-1", "--format=%s")).trim(), "TICKET-001: Hooked");
});

Deno.test("auto_commit: false on a ticket leaves its work uncommitted", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", {
    title: "Manual",
    agent: "codex",
    done: false,
    auto_commit: false,
  });
  const before = await gitIn(p.path, "rev-parse", "HEAD");
  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(attempts(p)[0].outcome, "done");
  assert.equal(await gitIn(p.path, "rev-parse", "HEAD"), before);
  assert.match(await gitIn(p.path, "status", "--porcelain"), /fake-output\//);
});

Deno.test("an auto-commit leaves out what the user had staged, which stays staged", async () => {
  await using p = await testProject();
  await codexTickets(p, 1);
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "ticket");
  await Deno.writeTextFile(join(p.path, "README.md"), "# test repo\nstaged, not mine to commit\n");
  await Deno.writeTextFile(join(p.path, "mine.txt"), "my own new file\n");
  await gitIn(p.path, "add", "README.md", "mine.txt");

  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);

  const committed = (await gitIn(p.path, "show", "--name-only", "--format=", "HEAD")).trim();
  assert.deepEqual(committed.split("\n").sort(), [
    ".cmcs/tickets/TICKET-001.md",
    "fake-output/TICKET-001.txt",
  ]);
  const staged = (await gitIn(p.path, "diff", "--cached", "--name-only")).trim();
  assert.deepEqual(staged.split("\n").sort(), ["README.md", "mine.txt"], "still staged");
  assert.equal(
    await gitIn(p.path, "show", ":README.md"),
    "# test repo\nstaged, not mine to commit\n",
  );
});

Deno.test("a ticket written while another runs stays out of that ticket's commit", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Slow", agent: "codex", done: false },
    `Do it.\n${directive("slow", 2)}\n`,
  );
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "ticket");
  // A draft that was already there, uncommitted, before the run.
  await p.ticket("TICKET-003.md", { title: "Draft", agent: "human", done: false });
  const running = p.cmcs(["run"]);
  await until("the worker to start", () => attempts(p)[0]?.worker_pid ? true : null);
  // The orchestrator plans ahead (tickets for a person, so this run skips them).
  await p.ticket("TICKET-002.md", { title: "Later", agent: "human", done: false });
  await p.ticket("TICKET-003.md", { title: "Draft, edited", agent: "human", done: false });
  const result = await running;
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.doesNotMatch(result.stdout, /warning/, "no warning about files the worker did not touch");

  const committed = (await gitIn(p.path, "show", "--name-only", "--format=", "HEAD")).trim();
  assert.deepEqual(committed.split("\n").sort(), [
    ".cmcs/tickets/TICKET-001.md",
    "fake-output/TICKET-001.txt",
  ]);
  const status = await gitIn(p.path, "status", "--porcelain");
  assert.match(status, /^\?\? \.cmcs\/tickets\/TICKET-002\.md$/m);
  assert.match(status, /^\?\? \.cmcs\/tickets\/TICKET-003\.md$/m);
  const files = query<{ f: string }>(p, "SELECT files_changed AS f FROM attempts")[0].f;
  assert.doesNotMatch(files, /TICKET-002/, "nor is it among the files the attempt changed");
});

Deno.test("run without the tickets directory says so before creating a run; a file there too", async () => {
  await using p = await testProject();
  const dir = join(p.path, ".cmcs/tickets");
  await Deno.remove(dir, { recursive: true });
  for (
    const args of [["run"], ["run", "--dry-run"], ["run", "--detach"], ["ticket", "validate"]]
  ) {
    const missing = await p.cmcs(args);
    assert.equal(missing.code, 1, args.join(" "));
    assert.equal(
      missing.stderr,
      `error: no tickets directory at ${dir} (tickets.dir: .cmcs/tickets)\n` +
        "hint: write a ticket with `cmcs ticket new` (it creates the directory), " +
        "or fix tickets.dir in .cmcs/config.yml\n",
    );
  }
  await Deno.writeTextFile(dir, "not a directory\n");
  const file = await p.cmcs(["run"]);
  assert.equal(file.code, 1);
  assert.match(file.stderr, /^error: the tickets directory .* is a file, not a directory\n/);
  assert.doesNotMatch(file.stdout + file.stderr, /internal error/);
  assert.equal(runs(p).length, 0, "no run was recorded");
});

Deno.test("run --dry-run blocked by a malformed ticket does not also claim every ticket is done", async () => {
  await using p = await testProject();
  await Deno.writeTextFile(join(p.path, ".cmcs/tickets/TICKET-001.md"), "---\ntitle: [\n---\n");
  const dry = await p.cmcs(["run", "--dry-run"]);
  assert.equal(dry.code, 1);
  assert.doesNotMatch(dry.stdout, /nothing to run/);
  assert.match(dry.stdout, /^a run would stop at TICKET-001\.md:\d+: /m);
});

Deno.test("a ticket saved with a byte-order mark runs to done and keeps its mark and one front matter", async () => {
  await using p = await testProject();
  const path = join(p.path, ".cmcs/tickets/TICKET-001.md");
  await Deno.writeTextFile(path, "\ufeff---\ntitle: Bom\nagent: codex\ndone: false\n---\nDo it.\n");
  const result = await p.cmcs(["run"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(attempts(p)[0].outcome, "done");
  const text = await Deno.readTextFile(path);
  assert.ok(text.startsWith("\ufeff---\ntitle: Bom\n"), JSON.stringify(text.slice(0, 40)));
  assert.equal(text.slice(1).match(/^---$/gm)?.length, 2, "still one front matter block");
  assert.match(text, /^done: true$/m);
});
