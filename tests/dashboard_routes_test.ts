/**
 * The dashboard's pages and API, called through the app's fetch handler (no port): what each
 * shows, pagination and bad parameters, the security checks, and the event and log streams.
 */
import assert from "node:assert/strict";
import type { StatusJsonRun } from "../src/commands/status.ts";
import type { RunSummary } from "../src/core/db/status_query.ts";
import { join } from "node:path";
import { getRun } from "../src/core/db/runs.ts";
import { recordEvent } from "../src/core/db/events.ts";
import { createRun, finishRun } from "../src/core/db/runs.ts";
import { startAttempt } from "../src/core/db/attempts.ts";
import { registerWorktree } from "../src/core/db/worktrees.ts";
import type { Database } from "../src/core/db/database.ts";
import { buildIslands, BUNDLE } from "../scripts/build_islands.ts";
import { cmcs } from "./helpers/cli.ts";
import {
  dashboardFixture,
  ORIGIN,
  PORT,
  TOKEN,
  XSS_MESSAGE,
  XSS_TITLE,
} from "./helpers/dashboard_fixture.ts";
import { serveDashboard } from "./helpers/dashboard_server.ts";

async function html(response: Response): Promise<string> {
  assert.match(response.headers.get("content-type") ?? "", /text\/html/);
  return await response.text();
}

/** Every `<script …>` tag of a page. */
function scriptTags(page: string): string[] {
  return [...page.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]);
}

/** The run ids of the rows of the first runs table, in page order. */
function runRowIds(page: string): number[] {
  const table = page.slice(page.indexOf('<table class="runs"'));
  const body = table.slice(0, table.indexOf("</table>"));
  return [...body.matchAll(/<tr\s+data-run-id="(\d+)"/g)].map((m) => Number(m[1]));
}

/** Reads a server-sent event stream until `done` says so; cancels it afterwards. */
async function readSse(
  response: Response,
  done: (text: string) => boolean,
  onOpen?: () => void,
): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let opened = false;
  try {
    while (!done(text)) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      text += decoder.decode(value, { stream: true });
      if (!opened) {
        opened = true;
        onOpen?.();
      }
    }
  } finally {
    await reader.cancel();
  }
  return text;
}

/** A finished-broker run on another registered target (the fixture's root has a live run). */
function otherRun(db: Database, target: string) {
  registerWorktree(db, target, "other");
  return createRun(db, target, { pid: 2_000_000_000, start: null });
}

function post(headers: Record<string, string>, body?: BodyInit): RequestInit {
  return { method: "POST", headers, body };
}

Deno.test("the overview lists runs in every status newest first, with the running run live", async () => {
  await using fx = await dashboardFixture();
  const page = await html(await fx.fetch("/"));
  for (const status of ["completed", "failed", "stopped", "interrupted", "running"]) {
    assert.match(page, new RegExp(`class="badge [a-z]+">${status}</span>`), status);
  }
  const ids = runRowIds(page);
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
  assert.equal(ids[0], fx.runs.running);
  assert.match(page, /data-island="ActiveRuns"/);
  assert.match(page, new RegExp(`<div class="panel card" data-run-id="${fx.runs.running}"`));
  assert.match(page, /<dd class="mono">gpt-5-codex<\/dd>/);
  assert.match(page, /1\/3 done/, "target progress: TICKET-001 done of three tickets");
  assert.match(page, /data-island="EventFeed"/);
  assert.match(page, /old-spike/);
});

Deno.test("the overview paginates runs and events and clamps or refuses bad page numbers", async () => {
  await using fx = await dashboardFixture();
  for (let i = 0; i < 22; i++) {
    const run = otherRun(fx.db, `${fx.root}/extra`);
    recordEvent(fx.db, { runId: run.id, event: "run_started" });
    recordEvent(fx.db, { runId: run.id, event: "run_finished" });
    finishRun(fx.db, run.id, "completed");
  }
  const first = runRowIds(await html(await fx.fetch("/")));
  assert.equal(first.length, 20);
  const second = runRowIds(await html(await fx.fetch("/?page=2")));
  assert.equal(second.length, 7);
  assert.ok(Math.min(...first) > Math.max(...second), "page 2 holds the older runs");
  const secondEvents = await html(await fx.fetch("/?events_page=2"));
  assert.match(secondEvents, /page 2 of 2/);

  const huge = await fx.fetch("/?page=99999999999999999999999");
  assert.equal(huge.status, 200);
  assert.match(await huge.text(), /No runs on this page/);
  for (const bad of ["abc", "-1", "1.5", "2e3"]) {
    const response = await fx.fetch(`/?page=${bad}`);
    assert.equal(response.status, 400, bad);
    assert.match(await html(response), /page must be a whole number/);
  }
});

Deno.test("the run page shows the timeline, the log, the final message and a coloured diff", async () => {
  await using fx = await dashboardFixture();
  const page = await html(await fx.fetch(`/runs/${fx.runs.completed}`));
  assert.match(page, /<tr\s+data-attempt-id="\d+">/);
  assert.match(page, /<td class="num">43s<\/td>/, "the completed event's 42.5 s");
  assert.match(page, /12\.4k \/ 850/, "tokens in/out of the attempt");
  assert.match(page, /badge ok">done</);
  assert.match(page, /class="l-agent">codex: I will add the greeting &lt;b>now&lt;\/b>\./);
  assert.match(page, /class="l-cmd">\$ cat README.md/);
  assert.match(page, /class="l-exit0"> {2}exit 0 \(1 line of output\)/);
  assert.match(page, /class="l-file">added greet.txt/);
  assert.match(page, /Finished &lt;img src=x onerror=alert\(&quot;msg&quot;\)>/);
  assert.match(page, /class="d d-add">\+hello<\/span>/);
  assert.match(page, /class="d d-add">\+&lt;script>alert\('diff'\)&lt;\/script><\/span>/);
  assert.match(page, /class="d d-del">-# test repo<\/span>/);
  assert.match(page, /class="d d-file">diff --git a\/README.md b\/README.md/);
  assert.match(page, /<span class="stat-add">\+3<\/span> <span class="stat-del">−1<\/span>/);
  assert.doesNotMatch(page, /data-island="StopButton"/, "no stop button on a finished run");

  const running = await html(await fx.fetch(`/runs/${fx.runs.running}`));
  assert.match(running, /data-island="StopButton"/);
  assert.match(running, /<form class="inline stop" method="post" action="\/runs\/\d+\/stop"\s*>/);
  assert.match(running, new RegExp(`name="_token" value="${TOKEN}"`));
  assert.match(running, /codex: Working on it\./);
  assert.match(running, /&quot;live&quot;:true/);
  assert.match(running, /nothing committed yet/);
});

Deno.test("the target page lists tickets in order with done state, escaped titles and runs", async () => {
  await using fx = await dashboardFixture();
  const page = await html(await fx.fetch(`/targets?path=${encodeURIComponent(fx.root)}`));
  const order = [...page.matchAll(/<tr\s+data-ticket="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(order, ["TICKET-001", "TICKET-002", "TICKET-010"]);
  assert.match(page, /✓ done/);
  assert.match(page, /to do/);
  assert.match(
    page,
    /&lt;script>alert\(&quot;title&quot;\)&lt;\/script> Greet &amp; &lt;b>wave&lt;\/b>/,
  );
  assert.match(page, /line 2: /, "the malformed ticket's problem and line");
  assert.equal(runRowIds(page).length, 5);

  const unknown = await fx.fetch(`/targets?path=${encodeURIComponent("/etc")}`);
  assert.equal(unknown.status, 404);
  assert.match(await unknown.text(), /is not a target of this project/);
});

Deno.test("no page renders data as markup and no page has an inline script", async () => {
  await using fx = await dashboardFixture();
  const paths = [
    "/",
    `/runs/${fx.runs.completed}`,
    `/runs/${fx.runs.running}`,
    `/targets?path=${encodeURIComponent(fx.root)}`,
  ];
  for (const path of paths) {
    const response = await fx.fetch(path);
    const page = await html(response);
    assert.doesNotMatch(page, /<script>alert/, path);
    assert.doesNotMatch(page, /<img src=x/, path);
    assert.doesNotMatch(page, /<b>wave/, path);
    for (const tag of scriptTags(page)) {
      assert.match(tag, /^<script type="module" src="\/static\/islands\.js\?v=[0-9a-f]{8}">$/);
    }
    const csp = response.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(response.headers.get("x-frame-options"), "DENY");
  }
  assert.ok(XSS_TITLE.includes("<script>") && XSS_MESSAGE.includes("<img"));
});

Deno.test("the embedded island bundle and stylesheet are served from /static/", async () => {
  await using fx = await dashboardFixture();
  const js = await fx.fetch("/static/islands.js");
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type") ?? "", /javascript/);
  const code = await js.text();
  assert.match(code, /data-island/);
  assert.equal(code, await Deno.readTextFile(BUNDLE));
  const css = await fx.fetch("/static/style.css");
  assert.match(css.headers.get("content-type") ?? "", /text\/css/);
  assert.match(await css.text(), /\.badge/);
});

Deno.test("the committed island bundle is what build:islands produces from islands/", async () => {
  const out = await Deno.makeTempFile({ suffix: ".js" });
  try {
    await buildIslands(out);
    const fresh = await Deno.readTextFile(out);
    const committed = await Deno.readTextFile(BUNDLE);
    assert.ok(
      fresh === committed,
      "src/dashboard/generated/islands.js is stale: run `deno task build:islands`",
    );
  } finally {
    await Deno.remove(out);
  }
});

Deno.test("GET /api/runs pages runs newest first, the same runs and counts as `cmcs status --json`", async () => {
  await using fx = await dashboardFixture();
  const body = await (await fx.fetch("/api/runs?limit=50")).json();
  assert.equal(body.total, 5);
  assert.equal(body.pages, 1);
  const status = await cmcs(["status", "--json", "--limit", "50"], { cwd: fx.root });
  assert.equal(status.code, 0, status.stderr);
  const cli = JSON.parse(status.stdout).runs as StatusJsonRun[];
  assert.deepEqual(
    body.runs.map((r: RunSummary) => [r.id, r.status, r.tickets, r.tokens.total]),
    cli.map((r) => {
      const { awaiting_review: _, ...tickets } = r.tickets;
      return [r.id, r.status, tickets, r.tokens];
    }),
  );

  const page2 = await (await fx.fetch("/api/runs?limit=2&page=2")).json();
  assert.deepEqual(page2.runs.map((r: { id: number }) => r.id), [fx.runs.stopped, fx.runs.failed]);
  assert.equal(page2.pages, 3);
  const active = await (await fx.fetch("/api/runs?active=1")).json();
  assert.deepEqual(active.runs.map((r: { id: number }) => r.id), [fx.runs.running]);
  const clamped = await (await fx.fetch("/api/runs?limit=999999999&page=99999999999")).json();
  assert.equal(clamped.limit, 200);
  assert.equal(clamped.page, 1_000_000);
  assert.deepEqual(clamped.runs, []);
  for (const query of ["page=abc", "limit=-5", "limit=1e9", "active=maybe"]) {
    const response = await fx.fetch(`/api/runs?${query}`);
    assert.equal(response.status, 400, query);
    assert.match((await response.json()).error, /expected|whole number/);
  }
});

Deno.test("GET /api/active and /api/runs/:id describe a run; bad ids are 400 or 404 JSON", async () => {
  await using fx = await dashboardFixture();
  const active = await (await fx.fetch("/api/active")).json();
  assert.equal(active.runs.length, 1);
  assert.equal(active.runs[0].current_ticket, "TICKET-002");
  assert.equal(active.runs[0].model, "gpt-5-codex");
  assert.equal(active.runs[0].ticket_title, "Second ticket");
  assert.deepEqual(active.runs[0].target_tickets, { done: 1, total: 3 });

  const detail = await (await fx.fetch(`/api/runs/${fx.runs.completed}`)).json();
  assert.equal(detail.run.id, fx.runs.completed);
  assert.equal(detail.run.tokens.total, 12400 + 850);
  assert.equal(detail.attempts.length, 1);
  assert.equal(detail.attempts[0].outcome, "done");
  assert.deepEqual(detail.attempts[0].files_changed[0], {
    path: "greet.txt",
    added: 2,
    removed: 0,
  });
  assert.deepEqual(detail.attempts[0].warnings, []);
  assert.equal("process_token" in detail.attempts[0], false);

  for (
    const [path, code] of [
      ["/api/runs/abc", 400],
      ["/api/runs/1x", 400],
      ["/api/runs/999999", 404],
      ["/api/runs/0", 404],
      ["/api/runs/99999999999999999999999999", 404],
      ["/api/runs/999999/events", 404],
      ["/api/runs/999999/logs", 404],
      ["/api/nothing-here", 404],
    ] as const
  ) {
    const response = await fx.fetch(path);
    assert.equal(response.status, code, path);
    assert.match(response.headers.get("content-type") ?? "", /application\/json/, path);
    assert.equal(typeof (await response.json()).error, "string", path);
  }
  const page = await fx.fetch("/runs/abc");
  assert.equal(page.status, 400);
  assert.match(await html(page), /run id must be a whole number/);
  assert.equal((await fx.fetch("/runs/424242")).status, 404);
});

Deno.test("GET /api/events and /api/runs/:id/events page events newest first with their target", async () => {
  await using fx = await dashboardFixture();
  const all = await (await fx.fetch("/api/events?limit=3")).json();
  assert.equal(all.events.length, 3);
  assert.ok(all.events[0].id > all.events[1].id && all.events[1].id > all.events[2].id);
  assert.equal(all.events[0].target, fx.root);
  assert.equal(all.pages, Math.ceil(all.total / 3));
  const ofRun = await (await fx.fetch(`/api/runs/${fx.runs.completed}/events`)).json();
  assert.equal(ofRun.run_id, fx.runs.completed);
  assert.deepEqual(
    ofRun.events.map((e: { event: string }) => e.event),
    ["run_finished", "committed", "completed", "started", "run_started"],
  );
  assert.equal(ofRun.events[2].message, XSS_MESSAGE);
  const filtered = await (await fx.fetch(`/api/events?run=${fx.runs.failed}`)).json();
  assert.ok(filtered.events.every((e: { run_id: number }) => e.run_id === fx.runs.failed));
  assert.equal((await fx.fetch("/api/events?limit=100000")).status, 200);
  assert.equal((await (await fx.fetch("/api/events?limit=100000")).json()).limit, 500);
  assert.equal((await fx.fetch("/api/events?page=x")).status, 400);
});

Deno.test("GET /api/tickets and /api/worktrees list a known target's tickets and the worktrees", async () => {
  await using fx = await dashboardFixture();
  const tickets = await (await fx.fetch(`/api/tickets?target=${encodeURIComponent(fx.root)}`))
    .json();
  assert.equal(tickets.target, fx.root);
  assert.deepEqual(
    tickets.tickets.map((t: { id: string; done: boolean | null }) => [t.id, t.done]),
    [["TICKET-001", true], ["TICKET-002", false], ["TICKET-010", null]],
  );
  assert.equal(tickets.tickets[0].title, XSS_TITLE);
  assert.equal(tickets.tickets[2].ok, false);
  const byDefault = await (await fx.fetch("/api/tickets")).json();
  assert.equal(byDefault.target, fx.root);
  for (const target of ["/etc", `${fx.root}/..`, `${fx.root}/.cmcs`]) {
    const response = await fx.fetch(`/api/tickets?target=${encodeURIComponent(target)}`);
    assert.equal(response.status, 404, target);
  }
  const worktrees = await (await fx.fetch("/api/worktrees")).json();
  assert.deepEqual(
    worktrees.worktrees.map((w: { path: string; status: string }) => [w.path, w.status]).sort(),
    [[fx.root, "active"], [fx.archived, "archived"]].sort(),
  );
  assert.equal((await (await fx.fetch("/api/health")).json()).status, "ok");
});

Deno.test("GET /api/runs/:id/logs reads a bounded tail, rendered or raw, of a validated path", async () => {
  await using fx = await dashboardFixture();
  const rendered = await (await fx.fetch(`/api/runs/${fx.runs.completed}/logs`)).json();
  assert.equal(rendered.ticket, "TICKET-001");
  assert.equal(rendered.attempt, 1);
  assert.equal(rendered.outcome, "done");
  assert.ok(rendered.lines.includes("$ cat README.md"));
  assert.ok(rendered.lines.includes("codex: Added greet.txt."));
  assert.equal(rendered.truncated, false);
  const last2 = await (await fx.fetch(`/api/runs/${fx.runs.completed}/logs?lines=2`)).json();
  assert.deepEqual(last2.lines, rendered.lines.slice(-2));
  assert.equal(last2.truncated, true);
  const raw = await (await fx.fetch(`/api/runs/${fx.runs.completed}/logs?raw=1&lines=1`)).json();
  assert.equal(JSON.parse(raw.lines[0]).type, "turn.completed");
  const other = await fx.fetch(`/api/runs/${fx.runs.failed}/logs?attempt=${fx.doneAttempt}`);
  assert.equal(other.status, 404, "an attempt of another run");
  assert.equal((await fx.fetch(`/api/runs/${fx.runs.completed}/logs?lines=abc`)).status, 400);

  // A log_dir that climbs out of .cmcs/logs, or a symlink that points out of it, is refused.
  const secret = join(fx.root, "secret");
  await Deno.mkdir(secret);
  await Deno.writeTextFile(join(secret, "codex.jsonl"), '{"type":"error","message":"SECRET"}\n');
  const escaping = otherRun(fx.db, `${fx.root}/escape`);
  startAttempt(fx.db, {
    runId: escaping.id,
    ticket: "TICKET-001",
    title: null,
    kind: "first",
    model: null,
    reasoningEffort: null,
    commitBefore: null,
    logDir: "../../secret",
  });
  const climbed = await fx.fetch(`/api/runs/${escaping.id}/logs`);
  assert.equal(climbed.status, 404);
  assert.doesNotMatch(await climbed.text(), /SECRET/);
  const linked = otherRun(fx.db, `${fx.root}/link`);
  await Deno.symlink(secret, join(fx.project.logsDir, "linked"));
  startAttempt(fx.db, {
    runId: linked.id,
    ticket: "TICKET-001",
    title: null,
    kind: "first",
    model: null,
    reasoningEffort: null,
    commitBefore: null,
    logDir: "linked",
  });
  const viaLink = await fx.fetch(`/api/runs/${linked.id}/logs`);
  assert.equal(viaLink.status, 404);
  assert.doesNotMatch(await viaLink.text(), /SECRET/);
});

Deno.test("requests whose Host is not this dashboard's loopback name and port are refused", async () => {
  await using fx = await dashboardFixture();
  const app = fx.app();
  const get = (host: string, path = "/") =>
    app.fetch(new Request(`${ORIGIN}${path}`, { headers: { Host: host } }));
  for (
    const host of [
      `127.0.0.1:${PORT}`,
      `localhost:${PORT}`,
      `[::1]:${PORT}`,
      `LOCALHOST:${PORT}`,
      `127.1.2.3:${PORT}`,
    ]
  ) {
    assert.equal((await get(host)).status, 200, host);
  }
  for (
    const host of [
      "evil.example",
      `evil.example:${PORT}`,
      `127.0.0.1.evil.example:${PORT}`,
      "127.0.0.1:9999",
      "127.0.0.1",
      `0.0.0.0:${PORT}`,
      "",
    ]
  ) {
    const page = await get(host);
    assert.equal(page.status, 403, host);
    assert.match(await page.text(), /refused/);
    const api = await get(host, "/api/runs");
    assert.equal(api.status, 403, host);
    assert.match((await api.json()).error, /refused/);
  }
});

Deno.test("--allow-remote serves IP addresses but no host name it was not given, so DNS rebinding stays out", async () => {
  await using fx = await dashboardFixture();
  const remote = fx.app({ allowRemote: true, allowedHosts: ["DevBox"] });
  const get = (host: string) =>
    remote.fetch(new Request(`${ORIGIN}/`, { headers: { Host: host } }));
  for (const host of [`192.168.1.5:${PORT}`, `[fd00::5]:${PORT}`, `devbox:${PORT}`]) {
    assert.equal((await get(host)).status, 200, host);
  }
  for (const host of [`rebind.evil.example:${PORT}`, `dashboard.lan:${PORT}`, "192.168.1.5:1"]) {
    const page = await get(host);
    assert.equal(page.status, 403, host);
    assert.match(await page.text(), /names need --allowed-host/);
  }
  // The rebinding attack itself: read the page for the token, then POST a stop from the same name.
  const evil = `rebind.evil.example:${PORT}`;
  const stop = await remote.fetch(
    new Request(`${ORIGIN}/api/runs/${fx.runs.running}/stop`, {
      method: "POST",
      headers: { Host: evil, Origin: `http://${evil}`, "X-CMCS-Token": TOKEN },
    }),
  );
  assert.equal(stop.status, 403);
  assert.equal(getRun(fx.db, fx.runs.running)?.status, "running");
  const local = fx.app({ allowedHosts: ["devbox"] });
  const named = await local.fetch(
    new Request(`${ORIGIN}/`, { headers: { Host: `devbox:${PORT}` } }),
  );
  assert.equal(named.status, 200, "--allowed-host works without --allow-remote too");
});

Deno.test("a FIFO or a link swapped in for a log file is never read or followed", async () => {
  await using fx = await dashboardFixture();
  // A FIFO in place of the log: opening it would wait for a writer forever.
  const logDir = `${fx.runs.failed}/TICKET-009.1`;
  await Deno.mkdir(join(fx.project.logsDir, logDir), { recursive: true });
  const fifo = join(fx.project.logsDir, logDir, "codex.jsonl");
  new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
  const fifoAttempt = startAttempt(fx.db, {
    runId: fx.runs.failed,
    ticket: "TICKET-009",
    title: null,
    kind: "first",
    model: null,
    reasoningEffort: null,
    commitBefore: null,
    logDir,
  });
  const tail = await fx.fetch(`/api/runs/${fx.runs.failed}/logs?attempt=${fifoAttempt.id}`);
  assert.equal(tail.status, 200);
  assert.deepEqual((await tail.json()).lines, []);

  // A live stream checked the path once; a link put in place of the file later is not followed.
  const secret = join(fx.root, "secret.jsonl");
  await Deno.writeTextFile(
    secret,
    JSON.stringify({ type: "error", message: "SECRET from outside" }) + "\n",
  );
  const { size } = await Deno.stat(fx.openLog);
  const response = await fx.fetch(
    `/api/runs/${fx.runs.running}/logs/stream?from=${fx.openAttempt}:${size}`,
  );
  const text = await readSse(
    response,
    (t) => t.includes("event: end"),
    () => {
      Deno.renameSync(fx.openLog, `${fx.openLog}.moved`);
      Deno.symlinkSync(secret, fx.openLog);
      setTimeout(() => finishRun(fx.db, fx.runs.running, "completed"), 300);
    },
  );
  assert.doesNotMatch(text, /SECRET/);
  assert.match(text, /event: end/);
});

Deno.test("cross-site reads are refused but a cross-site link to a page still opens", async () => {
  await using fx = await dashboardFixture();
  const api = await fx.fetch("/api/runs", { headers: { "Sec-Fetch-Site": "cross-site" } });
  assert.equal(api.status, 403);
  const stream = await fx.fetch("/api/events/stream", {
    headers: { "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors" },
  });
  assert.equal(stream.status, 403);
  const navigation = await fx.fetch("/", {
    headers: { "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate" },
  });
  assert.equal(navigation.status, 200);
});

Deno.test("POST stop needs the same origin and the token; nothing changes when refused", async () => {
  await using fx = await dashboardFixture();
  const path = `/api/runs/${fx.runs.running}/stop`;
  const refused: [string, Record<string, string>][] = [
    ["no token", {}],
    ["wrong token", { "X-CMCS-Token": "guess" }],
    ["token prefix", { "X-CMCS-Token": TOKEN.slice(0, -1) }],
    ["other origin", { "X-CMCS-Token": TOKEN, Origin: "http://evil.example" }],
    ["other port", { "X-CMCS-Token": TOKEN, Origin: "http://127.0.0.1:9999" }],
    ["null origin", { "X-CMCS-Token": TOKEN, Origin: "null" }],
    ["cross-site", { "X-CMCS-Token": TOKEN, "Sec-Fetch-Site": "cross-site" }],
    ["same-site", { "X-CMCS-Token": TOKEN, "Sec-Fetch-Site": "same-site" }],
    ["foreign referer", { "X-CMCS-Token": TOKEN, Referer: "http://evil.example/x" }],
  ];
  for (const [what, headers] of refused) {
    const response = await fx.fetch(path, post(headers));
    assert.equal(response.status, 403, what);
    assert.match((await response.json()).error, /refused/, what);
  }
  const form = await fx.fetch(
    `/runs/${fx.runs.running}/stop`,
    post({
      "Content-Type": "application/x-www-form-urlencoded",
      Origin: "http://evil.example",
    }, `_token=${TOKEN}&confirm=yes`),
  );
  assert.equal(form.status, 403);
  const run = getRun(fx.db, fx.runs.running)!;
  assert.equal(run.status, "running");
  assert.equal(run.stop_requested_at, null);
});

Deno.test("POST /api/runs/:id/stop stops a running run and answers like `cmcs stop --json`", async () => {
  await using fx = await dashboardFixture();
  // Stand in for the run's broker: it sees the stop request and ends the run, as a real one does.
  const broker = (async () => {
    while (true) {
      const run = getRun(fx.db, fx.runs.running)!;
      if (run.stop_requested_at) {
        finishRun(fx.db, run.id, "stopped", "stopped by request");
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const response = await fx.fetch(
    `/api/runs/${fx.runs.running}/stop`,
    post({ "X-CMCS-Token": TOKEN, Origin: ORIGIN, "Sec-Fetch-Site": "same-origin" }),
  );
  await broker;
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    run_id: fx.runs.running,
    target: fx.root,
    status: "stopped",
    ticket: "TICKET-002",
    forced: false,
    message: "stopped by request",
    broker_pid: Deno.pid,
    broker_alive: false,
  });
  const events = await (await fx.fetch(`/api/runs/${fx.runs.running}/events`)).json();
  assert.equal(events.events[0].event, "stop_requested");
  assert.equal(events.events[0].message, "the dashboard");

  const again = await fx.fetch(
    `/api/runs/${fx.runs.running}/stop`,
    post({ "X-CMCS-Token": TOKEN }),
  );
  assert.equal(again.status, 409);
  assert.match((await again.json()).error, /is not running/);
  const unknown = await fx.fetch("/api/runs/999999/stop", post({ "X-CMCS-Token": TOKEN }));
  assert.equal(unknown.status, 404);
});

Deno.test("the no-JavaScript stop form asks for confirmation, then stops and redirects", async () => {
  await using fx = await dashboardFixture();
  const form = (body: string) =>
    fx.fetch(
      `/runs/${fx.runs.running}/stop`,
      post({ "Content-Type": "application/x-www-form-urlencoded", Origin: ORIGIN }, body),
    );
  const confirm = await form(`_token=${TOKEN}`);
  assert.equal(confirm.status, 200);
  const page = await html(confirm);
  assert.match(page, /Stop run #\d+\?/);
  assert.match(page, /name="confirm" value="yes"/);
  assert.equal(getRun(fx.db, fx.runs.running)!.stop_requested_at, null);

  const broker = (async () => {
    while (!getRun(fx.db, fx.runs.running)!.stop_requested_at) {
      await new Promise((r) => setTimeout(r, 20));
    }
    finishRun(fx.db, fx.runs.running, "stopped");
  })();
  const done = await form(`_token=${TOKEN}&confirm=yes`);
  await broker;
  assert.equal(done.status, 303);
  assert.equal(done.headers.get("location"), `/runs/${fx.runs.running}`);
  assert.equal(getRun(fx.db, fx.runs.running)!.status, "stopped");

  const late = await form(`_token=${TOKEN}&confirm=yes`);
  assert.equal(late.status, 409);
  assert.match(await html(late), /not running any more/);
});

Deno.test("the event stream sends new events with their ids and resumes from Last-Event-ID", async () => {
  await using fx = await dashboardFixture();
  const events = (await (await fx.fetch("/api/events?limit=500")).json()).events;
  const newest = events[0].id;

  const live = await fx.fetch("/api/events/stream");
  assert.match(live.headers.get("content-type") ?? "", /text\/event-stream/);
  let added = 0;
  const text = await readSse(
    live,
    (t) => added > 0 && t.includes(`id: ${added}\n`),
    () => {
      added = recordEvent(fx.db, {
        runId: fx.runs.running,
        event: "warning",
        ticket: "TICKET-002",
        message: "<b>live</b> warning",
      });
    },
  );
  assert.doesNotMatch(
    text,
    new RegExp(`id: ${newest}\\n`),
    "only events recorded after connecting",
  );
  const data = text.split("\n").find((line) => line.startsWith("data: ") && line.includes("live"))!;
  const event = JSON.parse(data.slice("data: ".length));
  assert.equal(event.id, added);
  assert.equal(event.message, "<b>live</b> warning");
  assert.equal(event.target, fx.root);

  const resumed = await fx.fetch("/api/events/stream?after=0", {
    headers: { "Last-Event-ID": String(newest - 2) },
  });
  const replay = await readSse(resumed, (t) => t.includes(`id: ${added}\n`));
  const ids = [...replay.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(ids, [newest - 1, newest, added]);

  const ofRun = await fx.fetch(`/api/events/stream?run=${fx.runs.completed}&after=0`);
  const runText = await readSse(ofRun, (t) => (t.match(/^id: /gm) ?? []).length >= 5);
  const runIds = [...runText.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]).run_id);
  assert.ok(runIds.every((id) => id === fx.runs.completed));
});

Deno.test("the log stream follows the current attempt and ends when the run ends", async () => {
  await using fx = await dashboardFixture();
  const { size } = await Deno.stat(fx.openLog);
  const response = await fx.fetch(
    `/api/runs/${fx.runs.running}/logs/stream?from=${fx.openAttempt}:${size}`,
  );
  let appended = false;
  const text = await readSse(
    response,
    (t) => t.includes("event: end"),
    () => {
      appended = true;
      const line = JSON.stringify({
        type: "item.completed",
        item: { id: "z", type: "agent_message", text: "Appended while <watched>." },
      });
      Deno.writeTextFileSync(fx.openLog, line + "\n", { append: true });
      setTimeout(() => finishRun(fx.db, fx.runs.running, "completed"), 100);
    },
  );
  assert.ok(appended);
  const lines = [...text.matchAll(/^event: lines\ndata: (.*)\nid: (\d+):(\d+)$/gm)];
  assert.equal(lines.length, 1, text);
  assert.deepEqual(JSON.parse(lines[0][1]).lines, ["codex: Appended while <watched>."]);
  assert.equal(Number(lines[0][2]), fx.openAttempt);
  assert.equal(Number(lines[0][3]), (await Deno.stat(fx.openLog)).size);
  assert.doesNotMatch(text, /Working on it/, "nothing before the offset is sent again");
  assert.match(text, /event: end\ndata: \{"status":"completed"\}/);
});

Deno.test("the log stream resumes from Last-Event-ID and moves on to the run's next attempt", async () => {
  await using fx = await dashboardFixture();
  const response = await fx.fetch(`/api/runs/${fx.runs.running}/logs/stream`, {
    headers: { "Last-Event-ID": `${fx.openAttempt}:0` },
  });
  let next = 0;
  const text = await readSse(
    response,
    (t) => t.includes("event: end"),
    () => {
      const logDir = `${fx.runs.running}/TICKET-002.2`;
      Deno.mkdirSync(join(fx.project.logsDir, logDir), { recursive: true });
      Deno.writeTextFileSync(
        join(fx.project.logsDir, logDir, "codex.jsonl"),
        JSON.stringify({
          type: "item.completed",
          item: { id: "r", type: "agent_message", text: "Retry." },
        }) +
          "\n",
      );
      next = startAttempt(fx.db, {
        runId: fx.runs.running,
        ticket: "TICKET-002",
        title: "Second ticket",
        kind: "retry",
        model: "gpt-5-codex",
        reasoningEffort: null,
        commitBefore: null,
        logDir,
      }).id;
      setTimeout(() => finishRun(fx.db, fx.runs.running, "failed"), 200);
    },
  );
  assert.match(text, /codex: Working on it\./, "resumed from offset 0 of the first attempt");
  assert.match(text, new RegExp(`event: attempt\\ndata: \\{"attempt_id":${next},`));
  assert.ok(text.indexOf("Working on it") < text.indexOf("event: attempt"));
  assert.match(text, /codex: Retry\./);
  assert.match(text, /"status":"failed"/);
});

Deno.test("cmcs dashboard refuses a busy port with a hint to use --port", async () => {
  await using fx = await dashboardFixture();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const result = await cmcs(["dashboard", "--port", String(port)], { cwd: fx.root });
  assert.equal(result.code, 1);
  assert.equal(result.stderr.split("\n")[0], `error: port ${port} is in use`);
  assert.match(result.stderr, /^hint: .*--port/m);
});

Deno.test("cmcs dashboard serves another address only with --allow-remote, and warns", async () => {
  await using fx = await dashboardFixture();
  const refused = await cmcs(["dashboard", "--host", "0.0.0.0", "--port", "0"], { cwd: fx.root });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^error: refusing to serve the dashboard on 0\.0\.0\.0/);
  assert.match(refused.stderr, /^hint: .*--allow-remote/m);

  await using served = await serveDashboard(fx.root, {
    args: ["--host", "0.0.0.0", "--allow-remote"],
  });
  const port = /^http:\/\/0\.0\.0\.0:(\d+)\/$/.exec(served.url)?.[1];
  assert.ok(port, served.url);
  const health = await fetch(`http://127.0.0.1:${port}/api/health`, {
    headers: { Host: `dashboard.lan:${port}` },
  });
  assert.equal(health.status, 200);
  assert.equal((await health.json()).status, "ok");
  const ended = await served.stop();
  assert.equal(ended.code, 0);
  assert.match(ended.stderr, /^warning: serving on 0\.0\.0\.0: anyone who can reach/m);
});
