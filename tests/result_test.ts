/**
 * `cmcs result`: the review packet of one ticket, as text and JSON, for a successful, a failed and
 * a retried ticket, and kept short for a change touching hundreds of files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ResultJson } from "../src/core/review/result_json.ts";
import { directive } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { attempts } from "./helpers/runs.ts";

async function resultJson(p: TestProject, ...args: string[]): Promise<ResultJson> {
  const out = await p.cmcs(["result", ".", ...args, "--json"]);
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

Deno.test("result of a done ticket names it, its cost, its files, its final message and the next commands", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Greeting" },
    `Write the greeting.\n${directive("write", "hello.txt", "hi\\nthere")}\n`,
  );
  await p.ticket(
    "TICKET-002.md",
    { title: "Farewell" },
    `Write the farewell.\n${directive("write", "bye.txt", "bye")}\n`,
  );
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const [first, second] = attempts(p);

  const text = await p.cmcs(["result", "."]);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trimEnd().split("\n");
  assert.equal(lines[0], 'TICKET-002 "Farewell": done', "the latest ticket by default");
  const tokens = second.input_tokens! + second.output_tokens!;
  assert.match(text.stdout, /^run {7}1 \(completed\) · 1 attempt · /m);
  assert.match(text.stdout, new RegExp(`^tokens {4}${(tokens / 1000).toFixed(1)}k \\(input `, "m"));
  assert.match(
    text.stdout,
    /^files {5}2 changed, \+\d+ −0 \(commits [0-9a-f]{8}\.\.[0-9a-f]{8}\)$/m,
  );
  assert.match(text.stdout, /^ {2}\+1 +−0 +bye\.txt$/m);
  assert.match(text.stdout, /^ {2}\+\d+ +−0 +\.cmcs\/tickets\/TICKET-002\.md$/m);
  assert.doesNotMatch(text.stdout, /hello\.txt/, "only this ticket's files");
  assert.match(text.stdout, /^final message:\n {2}Completed TICKET-002: wrote bye\.txt/m);
  assert.match(text.stdout, /^next {6}cmcs diff \. TICKET-002$/m);
  assert.match(text.stdout, /^ {10}cmcs logs \. --ticket TICKET-002 --run 1$/m);

  const packet = await resultJson(p, "1");
  assert.equal(packet.ticket, "TICKET-001");
  assert.equal(packet.title, "Greeting");
  assert.equal(packet.outcome, "done");
  assert.equal(packet.review, "awaiting_review");
  assert.deepEqual(packet.attempts.map((a) => [a.kind, a.outcome]), [["first", "done"]]);
  assert.equal(packet.attempts[0].thread_id, first.thread_id);
  assert.deepEqual(packet.tokens, {
    input: first.input_tokens,
    cached_input: first.cached_input_tokens,
    output: first.output_tokens,
    reasoning: first.reasoning_output_tokens,
  });
  assert.equal(packet.attempts[0].tokens, first.input_tokens! + first.output_tokens!);
  assert.deepEqual(packet.run, { id: 1, status: "completed" });
  assert.deepEqual(packet.commits, {
    from: first.commit_before!.slice(0, 12),
    to: first.commit_after!.slice(0, 12),
  });
  assert.equal(
    packet.commits!.to,
    (await gitIn(p.path, "rev-parse", "--short=12", "HEAD~1")).trim(),
  );
  assert.deepEqual(
    packet.files,
    [[".cmcs/tickets/TICKET-001.md", packet.files![0][1], 0], ["hello.txt", 2, 0]],
  );
  assert.match(packet.final_message ?? "", /^Completed TICKET-001: wrote hello\.txt/);
  assert.equal(
    await Deno.readTextFile(
      join(p.path, ".cmcs/logs", packet.attempts[0].log_dir!, "last-message.md"),
    ),
    packet.final_message,
    "the attempt's log folder holds the worker's -o file",
  );
  assert.equal(packet.commands.accept, "cmcs accept . TICKET-001");
  assert.equal(packet.commands.diff, "cmcs diff . TICKET-001");
  assert.equal(packet.commands.logs, "cmcs logs . --ticket TICKET-001 --run 1");

  const logs = await p.cmcs(packet.commands.logs.split(" ").slice(1));
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /TICKET-001 · attempt 1/, "the printed logs command works");
});

Deno.test("result of a failed ticket shows the outcome, Codex's message and no usage", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Doomed" },
    `Try.\n${directive("fail", "the", "model", "fell", "over")}\n`,
  );
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 1);

  const text = await p.cmcs(["result", ".", "TICKET-001"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^TICKET-001 "Doomed": worker_failed$/m);
  assert.match(text.stdout, /^why {7}the model fell over$/m);
  assert.match(text.stdout, /^tokens {4}none reported · run 1: -$/m);
  assert.match(text.stdout, /^files {5}none changed$/m);

  const packet = await resultJson(p);
  assert.equal(packet.outcome, "worker_failed");
  assert.equal(packet.review, null);
  assert.equal(packet.message, "the model fell over");
  assert.ok(!("message" in packet.attempts[0]), "stated once, at the top");
  assert.ok(!("tokens" in packet.attempts[0]), "a failed turn reports no usage");
  assert.deepEqual(packet.tokens, { input: 0, cached_input: 0, output: 0, reasoning: 0 });
  assert.ok(!("commits" in packet) && !("files" in packet), "nothing changed, nothing listed");
  assert.ok(!("accept" in packet.commands));
});

Deno.test("result of a usage-limited ticket says when the limit lifts", async () => {
  await using p = await testProject();
  await p.ticket("TICKET-001.md", { title: "Limited" }, `Try.\n${directive("usage-limit")}\n`);
  assert.equal((await p.cmcs(["run"])).code, 1);
  const [row] = attempts(p);
  assert.ok(row.resets_at, "the runner read the reset time");
  const packet = await resultJson(p);
  assert.equal(packet.outcome, "usage_limit");
  assert.equal(packet.resets_at, row.resets_at);
  const text = await p.cmcs(["result", "."]);
  assert.match(
    text.stdout,
    new RegExp(`^why {7}.*usage limit.* \\(resets at ${row.resets_at}\\)$`, "m"),
  );
});

Deno.test("a usage limit with no reset time: result and status say the reset time is unknown", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Limited" },
    `Try.\n${directive("usage-limit-later")}\n`,
  );
  assert.equal((await p.cmcs(["run"])).code, 1);
  assert.equal(attempts(p)[0].resets_at, null, "no reset time is invented");

  const packet = await resultJson(p);
  assert.equal(packet.outcome, "usage_limit");
  assert.ok(!("resets_at" in packet), "no reset time is invented");
  const text = await p.cmcs(["result", "."]);
  assert.match(
    text.stdout,
    /^why {7}You've hit your usage limit\. Try again later\. \(reset time unknown\)$/m,
  );

  const status = await p.cmcs(["status"]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(
    status.stdout,
    /^run 1 failed: TICKET-001: usage_limit — .*\(reset time unknown\)$/m,
  );
  const json = JSON.parse((await p.cmcs(["status", "--json"])).stdout);
  assert.match(json.runs[0].message, /\(reset time unknown\)$/);
});

Deno.test("result of a ticket retried with the fallback model lists both attempts and sums their tokens", async () => {
  await using p = await testProject({ fallback_model: "big-model" });
  await p.ticket(
    "TICKET-001.md",
    { title: "Huge" },
    `Big job.\n${directive("context-unless-model", "big-model")}\n${
      directive("write", "out.txt", "x")
    }\n`,
  );
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const rows = attempts(p);
  assert.equal(rows.length, 2);

  const packet = await resultJson(p, "TICKET-001");
  assert.deepEqual(
    packet.attempts.map((a) => [a.kind, a.model, a.outcome]),
    [["first", undefined, "context_limit"], ["fallback", "big-model", "done"]],
  );
  assert.equal(packet.outcome, "done");
  const total = rows.reduce((sum, a) => sum + (a.input_tokens ?? 0) + (a.output_tokens ?? 0), 0);
  assert.equal(packet.tokens.input + packet.tokens.output, total);
  assert.ok(Math.abs(packet.duration_s - rows[0].duration_s! - rows[1].duration_s!) < 0.01);

  const text = await p.cmcs(["result", "."]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^run {7}1 \(completed\) · 2 attempts · .* · model big-model$/m);
  assert.match(text.stdout, /^attempts:\n +# +RUN +KIND +MODEL +OUTCOME +DURATION +TOKENS$/m);
  assert.match(text.stdout, /^ +1 +1 +first +default +context_limit +\S+ +-$/m);
  assert.match(text.stdout, /^ +2 +1 +fallback +big-model +done +\S+ +[\d.]+k$/m);
});

Deno.test("result stays short for a change touching 200 files; --json lists every file", async () => {
  await using p = await testProject();
  const writes = Array.from(
    { length: 200 },
    (_, i) =>
      directive("write", `gen/file-${String(i).padStart(3, "0")}.txt`, "a\\nb".repeat(i % 4 + 1)),
  );
  await p.ticket("TICKET-001.md", { title: "Generate" }, `Generate.\n${writes.join("\n")}\n`);
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);

  const text = await p.cmcs(["result", "."]);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trimEnd().split("\n");
  assert.ok(lines.length <= 35, `${lines.length} lines:\n${text.stdout}`);
  assert.ok(lines.every((l) => l.length <= 200), "long lines are cut");

  const packet = await resultJson(p);
  assert.equal(packet.files!.length, 201, "200 files and the ticket");
  const listed = lines.filter((l) => /^ {2}\+\d+ +−\d+ +\S/.test(l));
  const more = /^ {2}… and (\d+) more files \(\+(\d+) −(\d+)\)$/m.exec(text.stdout);
  assert.ok(more, text.stdout);
  assert.equal(listed.length + Number(more[1]), 201);
  assert.ok(listed.length >= 5 && listed.length <= 15);
  const listedAdded = listed.reduce((sum, l) => sum + Number(/\+(\d+)/.exec(l)![1]), 0);
  const added = packet.files!.reduce((sum, f) => sum + (f[1] ?? 0), 0);
  assert.equal(listedAdded + Number(more[2]), added);
  assert.match(text.stdout, /^files {5}201 changed, /m);
  assert.match(text.stdout, /^next {6}cmcs diff \. TICKET-001$/m, "the commands survive the cut");
});

Deno.test("result explains what is missing: no run yet, an unknown ticket, no path", async () => {
  await using p = await testProject();
  const none = await p.cmcs(["result", "."]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^error: no ticket has run on \. yet$/m);
  assert.match(none.stderr, /^hint: start one with `cmcs run \.`$/m);

  await p.ticket("TICKET-001.md", { title: "One" });
  assert.equal((await p.cmcs(["run"])).code, 0);
  const unknown = await p.cmcs(["result", ".", "TICKET-009"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: no ticket "TICKET-009" has run on \.$/m);
  assert.match(unknown.stderr, /^hint: tickets that ran there, newest first: TICKET-001$/m);

  const usage = await p.cmcs(["result"]);
  assert.equal(usage.code, 2);
  assert.doesNotMatch(usage.stderr, /internal error|at \w+ \(/);
});
