/**
 * One model of a ticket's history: `cmcs result`, `cmcs diff`, `cmcs status` and the dashboard's
 * run page tell the same story about a ticket — the files of all its attempts, its commits or its
 * working-tree change, and its token totals — for real runs of the stand-in worker.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Database } from "../src/core/db/database.ts";
import { projectAt } from "../src/core/project.ts";
import type { ResultJson } from "../src/core/review/result_json.ts";
import { createApp } from "../routes/_app.tsx";
import { directive } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn } from "./helpers/repo.ts";
import { runThenResume } from "./helpers/two_rounds.ts";
import { attempts } from "./helpers/runs.ts";

const PORT = 4173;

/** The dashboard's page at `path` for the project, rendered from its real database. */
async function dashboardPage(p: TestProject, path: string): Promise<string> {
  const project = projectAt(p.path, true);
  const db = Database.open(project.dbPath);
  try {
    const app = createApp({ project, db, token: "history-test-token", port: PORT });
    const response = await app.fetch(new Request(`http://127.0.0.1:${PORT}${path}`));
    assert.equal(response.status, 200);
    return await response.text();
  } finally {
    db.close();
  }
}

/** The ticket's section of a run page. */
function ticketSection(page: string, ticket: string): string {
  const start = page.indexOf(`id="ticket-${ticket}"`);
  assert.ok(start >= 0, `the page has a section for ${ticket}`);
  const end = page.indexOf("</section>", start);
  return page.slice(start, end);
}

async function json<T>(p: TestProject, args: string[]): Promise<T> {
  const out = await p.cmcs([...args, "--json"]);
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

Deno.test("with auto-commit off, the run page shows the working-tree change cmcs diff shows, and the files of every attempt", async () => {
  await using p = await testProject({ auto_commit: false, max_retries: 2 });
  await p.ticket(
    "TICKET-001.md",
    { title: "Twice" },
    `Edit.\n${directive("transient-once")}\n${
      directive("partial", "first.txt", "from the failed attempt")
    }\n${directive("write", "second.txt", "from the retry")}\n`,
  );
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "ticket");
  const run = await p.cmcs(["run"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const rows = attempts(p);
  assert.deepEqual(rows.map((a) => a.outcome), ["worker_failed", "done"]);
  assert.ok(rows.every((a) => a.commit_after === null), "nothing was committed");

  const diff = await p.cmcs(["diff", "."]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /^\+from the failed attempt$/m);
  assert.match(diff.stdout, /^\+from the retry$/m);
  const packet = await json<ResultJson>(p, ["result", "."]);
  const paths = (packet.files ?? []).map(([path]) => path);
  assert.ok(paths.includes("first.txt") && paths.includes("second.txt"), paths.join(", "));

  const section = ticketSection(await dashboardPage(p, `/runs/${rows[0].run_id}`), "TICKET-001");
  const listed = /<ul class="mono files">(.*?)<\/ul>/s.exec(section)?.[1] ?? "";
  for (const path of paths) assert.ok(listed.includes(`>${path}<`), `${path} is listed`);
  assert.match(section, /class="d d-add">\+from the failed attempt<\/span>/);
  assert.match(section, /class="d d-add">\+from the retry<\/span>/);
  assert.match(section, /\.\.working tree/);
  assert.doesNotMatch(section, /no commit recorded/);
});

Deno.test("token totals of a ticket worked on in two runs agree between result, status and the dashboard", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Two rounds" },
    `Work.\n${directive("not-done-until-resume")}\n${directive("write", "a.txt", "round")}\n`,
  );
  await gitIn(p.path, "add", "-A");
  await gitIn(p.path, "commit", "-q", "-m", "ticket");
  assert.equal((await p.cmcs(["run"])).code, 1, "the first round is not marked done");
  const resumed = await p.cmcs(["resume", ".", "TICKET-001", "-m", "Finish and mark it done."]);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  const rows = attempts(p);
  assert.equal(new Set(rows.map((a) => a.run_id)).size, 2, "two runs");
  assert.ok(rows.every((a) => (a.input_tokens ?? 0) > 0), "both attempts reported usage");

  const packet = await json<ResultJson>(p, ["result", ".", "TICKET-001"]);
  const ticketTotal = packet.tokens.input + packet.tokens.output;
  const status = await json<{ runs: { id: number; tokens: number }[] }>(p, ["status"]);
  assert.equal(
    status.runs.reduce((sum, r) => sum + r.tokens, 0),
    ticketTotal,
    "the ticket is the only work of both runs",
  );
  const runTotal = status.runs.find((r) => r.id === packet.run.id)?.tokens;

  const section = ticketSection(await dashboardPage(p, `/runs/${packet.run.id}`), "TICKET-001");
  assert.match(section, new RegExp(`data-tokens="${ticketTotal}"`));
  assert.match(section, /2 attempts \(1 in earlier runs\)/);

  const api = JSON.parse(await dashboardPage(p, `/api/runs/${packet.run.id}`));
  assert.equal(api.run.tokens.total, runTotal);
  assert.deepEqual(api.tickets[0].tokens, { ...packet.tokens, total: ticketTotal });
  assert.deepEqual(
    api.tickets[0].files_changed.map((f: { path: string; added: number; removed: number }) => [
      f.path,
      f.added,
      f.removed,
    ]),
    packet.files,
  );
  assert.equal(api.tickets[0].review, packet.review);
});

Deno.test("the run page of a resumed ticket lists the files of every attempt, as cmcs result does", async () => {
  await using p = await testProject();
  await runThenResume(p);

  const packet = await json<ResultJson>(p, ["result", ".", "TICKET-001"]);
  const paths = (packet.files ?? []).map(([path]) => path);
  assert.ok(paths.includes("a.txt") && paths.includes("b.txt"), paths.join(", "));
  const section = ticketSection(await dashboardPage(p, `/runs/${packet.run.id}`), "TICKET-001");
  const listed = /<ul class="mono files">(.*?)<\/ul>/s.exec(section)?.[1] ?? "";
  for (const path of paths) assert.ok(listed.includes(`>${path}<`), `${path} is listed`);
  assert.match(section, /class="d d-add">\+first<\/span>/, "the diff spans both commits");
  assert.match(section, /class="d d-add">\+second<\/span>/);
});

Deno.test("after its worktree is removed, a ticket's run page still shows its commits and files", async () => {
  await using p = await testProject();
  const created = await p.cmcs(["worktree", "create", "feat/gone"]);
  assert.equal(created.code, 0, created.stderr);
  const worktree = join(p.path, "worktrees", "feat", "gone");
  await Deno.mkdir(join(worktree, ".cmcs/tickets"), { recursive: true });
  await Deno.writeTextFile(
    join(worktree, ".cmcs/tickets/TICKET-001.md"),
    `---\ntitle: Elsewhere\n---\n\nWork.\n${directive("write", "far.txt", "far away")}\n`,
  );
  const run = await p.cmcs(["run", worktree]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const [row] = attempts(p);
  assert.ok(row.commit_after, "the worktree's ticket was committed");
  await gitIn(p.path, "worktree", "remove", "--force", worktree);

  const section = ticketSection(await dashboardPage(p, `/runs/${row.run_id}`), "TICKET-001");
  const listed = /<ul class="mono files">(.*?)<\/ul>/s.exec(section)?.[1] ?? "";
  assert.ok(listed.includes(">far.txt<"), listed);
  assert.match(section, /class="d d-add">\+far away<\/span>/, "read from the main checkout");
  assert.doesNotMatch(section, /working tree/);
});
