/**
 * The review queue through the CLI, on real runs of the stand-in worker: `cmcs accept` takes a
 * done ticket out of the queue (idempotently) and refuses one that is not done, `cmcs resume`
 * sends a ticket back, and `status`, `result` and `brief` show where each ticket stands.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { serveDashboard } from "./helpers/dashboard_server.ts";
import { directive } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { query, until } from "./helpers/runs.ts";

async function json<T = Record<string, unknown>>(p: TestProject, ...args: string[]): Promise<T> {
  const out = await p.cmcs([...args, "--json"]);
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

async function twoDoneTickets(p: TestProject): Promise<void> {
  await p.ticket(
    "TICKET-001.md",
    { title: "Greeting" },
    `${directive("write", "hello.txt", "hi")}\n`,
  );
  await p.ticket(
    "TICKET-002.md",
    { title: "Farewell" },
    `${directive("write", "bye.txt", "bye")}\n`,
  );
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
}

interface StatusJson {
  runs: { id: number; tickets: { done: number; awaiting_review: number } }[];
  review: {
    awaiting_review: { target: string; ticket: string; run_id: number }[];
    sent_back: { ticket: string }[];
    accepted: number;
  };
}

Deno.test("a done ticket awaits review until it is accepted, and accepting it again changes nothing", async () => {
  await using p = await testProject();
  await twoDoneTickets(p);

  let status = await json<StatusJson>(p, "status");
  assert.deepEqual(status.review.awaiting_review.map((t) => [t.target, t.ticket, t.run_id]), [
    [".", "TICKET-001", 1],
    [".", "TICKET-002", 1],
  ]);
  assert.equal(status.runs[0].tickets.awaiting_review, 2);
  const text = await p.cmcs(["status"]);
  assert.match(
    text.stdout,
    /^awaiting review at \.: TICKET-001, TICKET-002; review: `cmcs result \. TICKET-001`, accept: `cmcs accept \. TICKET-001 TICKET-002`$/m,
  );
  const before = await p.cmcs(["result", ".", "1"]);
  assert.match(before.stdout, /^review {4}awaiting review$/m);
  assert.match(before.stdout, /^ {10}cmcs accept \. TICKET-001$/m);

  const accepted = await p.cmcs(["accept", ".", "ticket-1"]);
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.equal(accepted.stdout, 'accepted TICKET-001 "Greeting" (run 1)\n');

  status = await json<StatusJson>(p, "status");
  assert.deepEqual(status.review.awaiting_review.map((t) => t.ticket), ["TICKET-002"]);
  assert.equal(status.review.accepted, 1);
  assert.equal(status.runs[0].tickets.awaiting_review, 1);
  assert.match((await p.cmcs(["status"])).stdout, /^accepted: 1 ticket$/m);
  const packet = await json<{ review: string; accepted_at: string; commands: object }>(
    p,
    "result",
    ".",
    "1",
  );
  assert.equal(packet.review, "accepted");
  assert.ok(!("accept" in packet.commands), "no accept command for an accepted ticket");
  assert.match(
    (await p.cmcs(["result", ".", "1"])).stdout,
    new RegExp(`^review {4}accepted ${packet.accepted_at.replaceAll(".", "\\.")}$`, "m"),
  );
  const brief = await json<{ finished: { ticket: string; state: string }[] }>(p, "brief");
  assert.deepEqual(brief.finished.map((t) => [t.ticket, t.state]), [
    ["TICKET-001", "accepted"],
    ["TICKET-002", "awaiting_review"],
  ]);
  const briefText = (await p.cmcs(["brief"])).stdout;
  assert.match(briefText, /1 finished ticket awaiting review, 0 failed runs, 1 accepted/);
  assert.match(
    briefText,
    /^finished: TICKET-002 at \. \(run 1\);.*accept: `cmcs accept \. TICKET-002`$/m,
  );

  const again = await p.cmcs(["accept", ".", "TICKET-001", "--json"]);
  assert.equal(again.code, 0, again.stderr);
  const result = JSON.parse(again.stdout);
  assert.deepEqual(
    result.tickets.map((t: { ticket: string; already: boolean }) => [t.ticket, t.already]),
    [
      ["TICKET-001", true],
    ],
  );
  assert.equal(result.tickets[0].accepted_at, packet.accepted_at, "the first acceptance's time");
  const textAgain = await p.cmcs(["accept", ".", "1"]);
  assert.match(
    textAgain.stdout,
    /^TICKET-001 "Greeting" was already accepted \(.+\); nothing changed$/m,
  );
  assert.deepEqual(
    query<{ decision: string }>(p, "SELECT decision FROM reviews").map((r) => r.decision),
    ["accepted"],
  );
  assert.deepEqual(
    query<{ event: string; ticket: string }>(
      p,
      "SELECT event, ticket FROM events WHERE event = 'accepted'",
    ).map((e) => [e.event, e.ticket]),
    [["accepted", "TICKET-001"]],
  );
});

Deno.test("accepting a ticket that is not done is one error line, exit 1, and accepts none of the others", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Fine" }, `${directive("write", "a.txt", "a")}\n`);
  await p.ticket("TICKET-002.md", { title: "Unfinished" }, `${directive("not-done")}\n`);
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 1, run.stdout + run.stderr);

  const refused = await p.cmcs(["accept", ".", "1", "2"]);
  assert.equal(refused.code, 1);
  assert.equal(refused.stdout, "");
  const lines = refused.stderr.trimEnd().split("\n");
  assert.equal(
    lines[0],
    "error: TICKET-002 is not done: its latest attempt (run 1) ended not_marked_done; nothing was accepted",
  );
  assert.match(lines[1], /^hint: review it with `cmcs result \. TICKET-002`/);
  assert.equal(lines.length, 2, "no stack trace");
  assert.deepEqual(query(p, "SELECT * FROM reviews"), [], "TICKET-001 was not accepted either");

  const unknown = await p.cmcs(["accept", ".", "TICKET-009"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: no ticket "TICKET-009" has run on \.\n/);
});

Deno.test("resume sends a ticket back, and it awaits review again once the new attempt is done", async () => {
  await using p = await testProject();
  await twoDoneTickets(p);
  const accepted = await p.cmcs(["accept", ".", "1"]);
  assert.equal(accepted.code, 0, accepted.stderr);
  const ticketFile = join(p.path, ".cmcs/tickets/TICKET-001.md");
  const original = await Deno.readTextFile(ticketFile);

  await Deno.writeTextFile(ticketFile, `${original}\n${directive("auth")}\n`);
  const failed = await p.cmcs(["resume", ".", "1", "-m", "Also greet in French.\nThanks"]);
  assert.equal(failed.code, 1, failed.stdout + failed.stderr);
  assert.deepEqual(
    query<{ decision: string; message: string }>(
      p,
      "SELECT decision, message FROM reviews ORDER BY id",
    ).map((r) => [r.decision, r.message]),
    [["accepted", null], ["sent_back", "Also greet in French."]],
  );
  assert.deepEqual(
    query<{ event: string; run_id: number }>(
      p,
      "SELECT event, run_id FROM events WHERE event = 'sent_back'",
    ).map((e) => [e.event, e.run_id]),
    [["sent_back", 2]],
    "the event belongs to the resume's run",
  );
  let status = await json<StatusJson>(p, "status");
  assert.deepEqual(status.review.sent_back.map((t) => t.ticket), ["TICKET-001"]);
  assert.equal(status.review.accepted, 0);
  assert.match((await p.cmcs(["status"])).stdout, /^sent back at \.: TICKET-001$/m);
  assert.match((await p.cmcs(["result", ".", "1"])).stdout, /^review {4}sent back/m);
  const refused = await p.cmcs(["accept", ".", "1"]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^error: TICKET-001 is not done: its latest attempt \(run 2\) ended auth;/,
  );

  const text = await Deno.readTextFile(ticketFile);
  await Deno.writeTextFile(ticketFile, text.replace(directive("auth"), ""));
  const resumed = await p.cmcs(["resume", ".", "1", "-m", "Try again"]);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  status = await json<StatusJson>(p, "status");
  assert.deepEqual(status.review.awaiting_review.map((t) => [t.ticket, t.run_id]), [
    ["TICKET-002", 1],
    ["TICKET-001", 3],
  ]);
  assert.deepEqual(status.review.sent_back, []);
  const packet = await json<{ review: string }>(p, "result", ".", "1");
  assert.equal(packet.review, "awaiting_review");
  assert.equal((await p.cmcs(["accept", ".", "1"])).code, 0);
});

Deno.test("the dashboard shows the review queue with its counts and each ticket's review state on the run page", async () => {
  await using p = await testProject();
  await twoDoneTickets(p);
  assert.equal((await p.cmcs(["accept", ".", "1"])).code, 0);
  await using dashboard = await serveDashboard(p.path, { env: p.env });

  const overview = await (await fetch(dashboard.url)).text();
  assert.match(overview, /data-awaiting-review="1"/);
  assert.match(overview, /1 awaiting review · 0 sent back · 1 accepted/);
  const queue = /<table class="review">([\s\S]*?)<\/table>/.exec(overview)?.[1] ?? "";
  assert.match(queue, /data-ticket="TICKET-002"/);
  assert.match(queue, /cmcs accept \. TICKET-002/);
  assert.doesNotMatch(queue, /TICKET-001/, "an accepted ticket has left the queue");

  const run = await (await fetch(new URL("/runs/1", dashboard.url))).text();
  const section = (ticket: string) =>
    new RegExp(`id="ticket-${ticket}"[\\s\\S]*?</section>`).exec(run)?.[0] ?? "";
  assert.match(section("TICKET-001"), /data-review="accepted"/);
  assert.match(section("TICKET-002"), /data-review="awaiting_review"/);
  assert.match(
    run.slice(run.indexOf('id="events"')),
    /accepted/,
    "the acceptance is in the run's events",
  );
});

Deno.test("a ticket whose worker already wrote done: true but is still running cannot be accepted until its attempt ends done", async () => {
  await using p = await testProject();
  const release = join(p.stateDir, "release");
  await p.ticket(
    "TICKET-001.md",
    { title: "Slow" },
    `${directive("write", "a.txt", "a")}\n${directive("done-early")}\n${
      directive("wait-file", release)
    }\n`,
  );
  const started = await p.cmcs(["run", "--detach"]);
  assert.equal(started.code, 0, started.stderr);
  await until(
    "the ticket file says done while the worker runs",
    async () =>
      /^done: true$/m.test(await Deno.readTextFile(join(p.path, ".cmcs/tickets/TICKET-001.md"))) &&
      query<{ outcome: string | null }>(p, "SELECT outcome FROM attempts").some((a) =>
        a.outcome === null
      ),
  );

  const early = await p.cmcs(["accept", ".", "1"]);
  assert.equal(early.code, 1);
  assert.match(
    early.stderr,
    /^error: TICKET-001 is not done: its attempt in run 1 is still running; nothing was accepted\nhint: wait for it with `cmcs wait \.`/,
  );
  assert.deepEqual(query(p, "SELECT * FROM reviews"), []);

  await Deno.writeTextFile(release, "");
  const waited = await p.cmcs(["wait", ".", "--timeout", "60"]);
  assert.equal(waited.code, 0, waited.stdout + waited.stderr);
  const accepted = await p.cmcs(["accept", ".", "1"]);
  assert.equal(accepted.code, 0, accepted.stderr);
});

Deno.test("a resume refused because the target is busy sends nothing back", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "First" }, `${directive("write", "a.txt", "a")}\n`);
  assert.equal((await p.cmcs(["run"])).code, 0);
  const release = join(p.stateDir, "release");
  await p.ticket("TICKET-002.md", { title: "Blocks" }, `${directive("wait-file", release)}\n`);
  assert.equal((await p.cmcs(["run", "--detach"])).code, 0);
  await until(
    "the second run's worker",
    () => query(p, "SELECT 1 FROM attempts WHERE ticket = 'TICKET-002'").length > 0,
  );

  const refused = await p.cmcs(["resume", ".", "1", "-m", "More"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error: \.: run 2 is already running there/);
  assert.deepEqual(query(p, "SELECT * FROM reviews"), []);
  assert.deepEqual(query(p, "SELECT * FROM events WHERE event = 'sent_back'"), []);

  await Deno.writeTextFile(release, "");
  assert.equal((await p.cmcs(["wait", ".", "--timeout", "60"])).code, 0);
  const status = await json<StatusJson>(p, "status");
  assert.deepEqual(status.review.awaiting_review.map((t) => [t.ticket, t.run_id]), [
    ["TICKET-001", 1],
    ["TICKET-002", 2],
  ]);
});
