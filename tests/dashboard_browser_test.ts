/**
 * The dashboard in a real browser: headless Debian Chromium driven by playwright-core, against
 * `cmcs dashboard --port 0` running as its own process. Set CMCS_UPDATE_SCREENSHOTS=1 to rewrite
 * docs/dashboard-overview.png and docs/dashboard-run.png.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { recordEvent } from "../src/core/db/events.ts";
import { Database } from "../src/core/db/database.ts";
import { finishAttempt, setAttemptChanges, startAttempt } from "../src/core/db/attempts.ts";
import { createRun, finishRun, getRun, setRunWorker } from "../src/core/db/runs.ts";
import { registerWorktree } from "../src/core/db/worktrees.ts";
import { processStartToken } from "../src/core/process_identity.ts";
import { cmcsEntry, PERMISSION_FLAGS, PROJECT_DIR } from "./helpers/cli.ts";
import { dashboardFixture } from "./helpers/dashboard_fixture.ts";
import { serveDashboard } from "./helpers/dashboard_server.ts";
import { testProject } from "./helpers/project.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
const UPDATE_SCREENSHOTS = Deno.env.get("CMCS_UPDATE_SCREENSHOTS") === "1";

/**
 * Deno lets a program read /proc only with `-A`; without it `fs.existsSync` throws instead of
 * returning false, and playwright-core probes /proc/sys/fs/binfmt_misc/WSLInterop (is this WSL?)
 * when it is imported. Answer "no such file" for what Deno refuses to look at, then import it.
 */
async function loadPlaywright(): Promise<typeof import("playwright-core")> {
  const existsSync = fs.existsSync;
  (fs as { existsSync: typeof existsSync }).existsSync = (path) => {
    try {
      return existsSync(path);
    } catch {
      return false;
    }
  };
  return await import("playwright-core");
}

async function launch(): Promise<Browser & AsyncDisposable> {
  const { chromium } = await loadPlaywright();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return Object.assign(browser, {
    async [Symbol.asyncDispose]() {
      await browser.close();
    },
  });
}

/** Pids the stand-in worker wrote to FAKE_CODEX_PIDS_FILE (its `grandchildren` commands). */
async function readPids(file: string): Promise<number[]> {
  try {
    return (await Deno.readTextFile(file)).split("\n").filter((l) => l.trim()).map(Number);
  } catch {
    return [];
  }
}

/** True while `pid` is a live (non-zombie) process. */
function alive(pid: number): boolean {
  const out = new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)], stdin: "null" })
    .outputSync();
  const state = new TextDecoder().decode(out.stdout).trim();
  return state !== "" && !state.startsWith("Z");
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function screenshot(page: Page, name: string): Promise<void> {
  const path = UPDATE_SCREENSHOTS
    ? join(PROJECT_DIR, "docs", name)
    : await Deno.makeTempFile({ suffix: ".png" });
  await page.screenshot({ path, fullPage: true });
  const bytes = await Deno.readFile(path);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "a PNG file");
  if (!UPDATE_SCREENSHOTS) await Deno.remove(path);
}

/** Two worktrees with history and a second running run, so the screenshots look like real use. */
function addShowcase(db: Database, root: string): void {
  const live = { pid: Deno.pid, start: processStartToken(Deno.pid) };
  const dead = { pid: 2_000_000_000, start: null };
  const login = join(root, "worktrees", "feat-login");
  const parser = join(root, "worktrees", "fix-parser");
  registerWorktree(db, login, "feat/login", { port: 4201 });
  registerWorktree(db, parser, "fix/parser", { port: 4202 });
  const done = createRun(db, parser, dead);
  for (
    const [ticket, title, tokens] of [
      ["TICKET-001", "Reproduce the parser crash in a test", 48_200],
      ["TICKET-002", "Handle empty input in parseLine()", 91_750],
    ] as const
  ) {
    const attempt = startAttempt(db, {
      runId: done.id,
      ticket,
      title,
      kind: "first",
      model: "gpt-5-codex",
      reasoningEffort: "high",
      commitBefore: null,
      logDir: `${done.id}/${ticket}.1`,
    });
    recordEvent(db, {
      runId: done.id,
      event: "started",
      ticket,
      model: "gpt-5-codex",
      attemptId: attempt.id,
    });
    finishAttempt(db, attempt.id, {
      outcome: "done",
      message: null,
      exitCode: 0,
      signal: null,
      threadId: null,
      usage: {
        input_tokens: tokens,
        cached_input_tokens: 20_000,
        output_tokens: 3_100,
        reasoning_output_tokens: 900,
      },
      finalMessage: "Done.",
      resetsAt: null,
    });
    setAttemptChanges(db, attempt.id, { commitAfter: null, files: [] });
    recordEvent(db, {
      runId: done.id,
      event: "completed",
      ticket,
      outcome: "done",
      durationS: 184.2,
      model: "gpt-5-codex",
      attemptId: attempt.id,
    });
  }
  finishRun(db, done.id, "completed");
  recordEvent(db, { runId: done.id, event: "run_finished", outcome: "completed" });
  const running = createRun(db, login, live);
  const attempt = startAttempt(db, {
    runId: running.id,
    ticket: "TICKET-003",
    title: "Add the login form with validation",
    kind: "first",
    model: "gpt-5-codex",
    reasoningEffort: "xhigh",
    commitBefore: null,
    logDir: `${running.id}/TICKET-003.1`,
  });
  setRunWorker(db, running.id, null, "TICKET-003");
  recordEvent(db, {
    runId: running.id,
    event: "started",
    ticket: "TICKET-003",
    model: "gpt-5-codex",
    attemptId: attempt.id,
  });
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Spreads the fixture's runs over the last hours (they were all recorded within a second), so
 * durations and times in the screenshots look like a real day's work.
 */
function backdate(db: Database): void {
  const now = Date.now();
  const runs = db.all<{ id: number; status: string }>("SELECT id, status FROM runs ORDER BY id");
  runs.forEach((run, i) => {
    const start = now - (runs.length - i) * 33 * 60_000 - 6 * 60_000 - 13_000 * i;
    const end = run.status === "running" ? null : start + (7 + 5 * (i % 4)) * 60_000 + 41_000 * i;
    db.run(
      "UPDATE runs SET started_at = ?, finished_at = ? WHERE id = ?",
      iso(start),
      end === null ? null : iso(end),
      run.id,
    );
    const attempts = db.all<{ id: number; outcome: string | null }>(
      "SELECT id, outcome FROM attempts WHERE run_id = ? ORDER BY id",
      run.id,
    );
    const each = ((end ?? now) - start - 8_000) / Math.max(1, attempts.length);
    attempts.forEach((attempt, j) => {
      const begun = start + 4_000 + j * each;
      const ended = attempt.outcome === null ? null : begun + each - 2_000;
      const seconds = ended === null ? null : (ended - begun) / 1000;
      db.run(
        "UPDATE attempts SET started_at = ?, finished_at = ?, duration_s = ? WHERE id = ?",
        iso(begun),
        ended === null ? null : iso(ended),
        seconds,
        attempt.id,
      );
      db.run(
        "UPDATE events SET timestamp = ? WHERE attempt_id = ? AND event = 'started'",
        iso(begun),
        attempt.id,
      );
      if (ended !== null) {
        db.run(
          "UPDATE events SET timestamp = ?, duration_s = ? WHERE attempt_id = ? AND event <> 'started'",
          iso(ended),
          seconds,
          attempt.id,
        );
      }
    });
    db.run(
      "UPDATE events SET timestamp = ? WHERE run_id = ? AND event = 'run_started'",
      iso(start),
      run.id,
    );
    db.run(
      `UPDATE events SET timestamp = ? WHERE run_id = ? AND attempt_id IS NULL
         AND event NOT IN ('run_started', 'run_finished')`,
      iso((end ?? now) - 1_500),
      run.id,
    );
    if (end !== null) {
      db.run(
        "UPDATE events SET timestamp = ? WHERE run_id = ? AND event = 'run_finished'",
        iso(end),
        run.id,
      );
    }
  });
}

Deno.test({
  name: "the overview renders a database with runs in every status, live in the browser",
  ignore: !HAVE_CHROMIUM,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using fx = await dashboardFixture({ name: "webshop", plain: true });
    addShowcase(fx.db, fx.root);
    backdate(fx.db);
    await using served = await serveDashboard(fx.root);
    await using browser = await launch();
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.goto(served.url);

    const statuses = await page.locator("table.runs .badge").allTextContents();
    for (const status of ["completed", "failed", "stopped", "interrupted", "running"]) {
      assert.ok(statuses.includes(status), `${status} in ${statuses}`);
    }
    assert.equal(await page.locator(".cards .card").count(), 2, "both running runs have a card");
    await page.locator(".feed-state .live").waitFor({ timeout: 10_000 });
    // The newest running run started less than an hour ago: its elapsed time shows seconds.
    const elapsed = page.locator(".card time.elapsed").first();
    const before = await elapsed.textContent();
    await page.waitForFunction(
      ([selector, text]) => document.querySelector(selector)?.textContent !== text,
      [".card time.elapsed", before] as const,
      { timeout: 10_000 },
    );
    const title = await page.locator(`tr[data-run-id="${fx.runs.completed}"]`).count();
    assert.equal(title, 1);
    assert.equal(
      await page.evaluate(() => document.querySelectorAll("script:not([src])").length),
      0,
    );
    assert.deepEqual(errors, []);
    await screenshot(page, "dashboard-overview.png");

    const run = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await run.goto(`${served.url}runs/${fx.runs.completed}`);
    assert.equal(await run.locator(".diff .d-add").count(), 3);
    assert.equal(await run.locator(".diff .d-del").count(), 1);
    assert.match(await run.locator("pre.log").textContent() ?? "", /\$ cat README\.md/);
    await screenshot(run, "dashboard-run.png");
  },
});

Deno.test({
  name: "an event recorded while the page is open appears without a reload",
  ignore: !HAVE_CHROMIUM,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using fx = await dashboardFixture();
    await using served = await serveDashboard(fx.root);
    await using browser = await launch();
    const page = await browser.newPage();
    await page.goto(served.url);
    await page.locator(".feed-state .live").waitFor({ timeout: 10_000 });
    await page.evaluate(() => (globalThis as { marker?: number }).marker = 42);

    const id = recordEvent(fx.db, {
      runId: fx.runs.running,
      event: "warning",
      ticket: "TICKET-002",
      message: "<i>appeared</i> while the page was open",
    });
    const row = page.locator(`table.events tr[data-event-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.textContent() ?? "", /<i>appeared<\/i> while the page was open/);
    assert.equal(
      await page.locator("table.events tbody tr").first().getAttribute("data-event-id"),
      String(id),
    );

    // The run ends: its card leaves the active section, still without a reload.
    finishRun(fx.db, fx.runs.running, "completed");
    recordEvent(fx.db, { runId: fx.runs.running, event: "run_finished", outcome: "completed" });
    await page.locator("text=Nothing is running.").waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate(() => (globalThis as { marker?: number }).marker), 42);

    // Hostile text from the database shows as text, never as markup.
    await page.goto(`${served.url}runs/${fx.runs.completed}`);
    assert.match(
      await page.locator("#ticket-TICKET-001 pre.text").textContent() ?? "",
      /Finished <img src=x onerror=alert\("msg"\)>/,
    );
    assert.match(
      await page.locator("#ticket-TICKET-001 h3 + span").textContent() ?? "",
      /<script>/,
    );
    assert.equal(await page.locator("img").count(), 0);
    assert.equal(await page.locator("main script, main b").count(), 0);
  },
});

Deno.test({
  name: "the stop button stops a real run of the stand-in worker and its processes are gone",
  ignore: !HAVE_CHROMIUM,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using project = await testProject();
    const pidsFile = join(project.stateDir, "pids.txt");
    await project.ticket(
      "TICKET-001.md",
      { title: "Hang with two commands running", done: false },
      "## Goal\nNever finish.\n\n<!-- fake-codex: grandchildren 2 -->\n",
    );
    const runner = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...PERMISSION_FLAGS, cmcsEntry(), "run"],
      cwd: project.path,
      env: { NO_COLOR: "1", ...project.env, FAKE_CODEX_PIDS_FILE: pidsFile },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const runnerOutput = runner.output();
    try {
      const db = Database.open(join(project.path, ".cmcs/cmcs.db"));
      try {
        const attempt = await until(
          "the worker to start",
          () =>
            db.get<{ run_id: number; worker_pid: number | null }>(
              "SELECT run_id, worker_pid FROM attempts WHERE worker_pid IS NOT NULL",
            ),
        );
        const commands = await until("two commands", async () => {
          const pids = await readPids(pidsFile);
          return pids.length >= 2 ? pids : undefined;
        });
        const workerPid = attempt.worker_pid!;
        assert.ok(alive(workerPid) && commands.every(alive));

        await using served = await serveDashboard(project.path, { env: project.env });
        await using browser = await launch();
        const page = await browser.newPage();
        await page.goto(`${served.url}runs/${attempt.run_id}`);
        const dialogs: string[] = [];
        page.on("dialog", (dialog) => {
          dialogs.push(dialog.message());
          void dialog.accept();
        });
        await page.locator(`button[data-stop-run="${attempt.run_id}"]`).click();
        await page.locator("h1 .badge", { hasText: "stopped" }).waitFor({ timeout: 30_000 });
        assert.equal(dialogs.length, 1);
        assert.match(dialogs[0], /Stop run #\d+\?/);

        assert.equal(getRun(db, attempt.run_id)!.status, "stopped");
        await until(
          "the worker and its commands to be gone",
          () => [workerPid, ...commands].every((pid) => !alive(pid)) || undefined,
        );
        const out = await runnerOutput;
        assert.notEqual(out.code, 0, "`cmcs run` reports the stopped run");
      } finally {
        db.close();
      }
    } finally {
      try {
        runner.kill("SIGKILL");
      } catch { /* already ended */ }
      await runnerOutput;
    }
  },
});

Deno.test({
  name: "a POST from another origin is refused, even one that carries the token",
  ignore: !HAVE_CHROMIUM,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using fx = await dashboardFixture();
    await using served = await serveDashboard(fx.root);
    await using browser = await launch();
    const own = await browser.newPage();
    await own.goto(served.url);
    const token = await own.locator('meta[name="cmcs-token"]').getAttribute("content");
    assert.match(token ?? "", /^[0-9a-f]{64}$/);

    const target = `${served.url}runs/${fx.runs.running}/stop`;
    const api = `${served.url}api/runs/${fx.runs.running}/stop`;
    const evil = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () =>
        new Response(
          `<!DOCTYPE html><title>evil</title>
         <form id="f" method="post" action="${target}">
           <input name="_token" value="${token}"><input name="confirm" value="yes">
           <button id="go">win a prize</button>
         </form>`,
          { headers: { "Content-Type": "text/html" } },
        ),
    );
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${evil.addr.port}/`);
      // A "simple" cross-origin POST reaches the server; its (403) answer is not even shown to the
      // page (Cross-Origin-Resource-Policy).
      const [simple] = await Promise.all([
        page.waitForEvent("requestfailed", (r) => r.url() === api && r.method() === "POST"),
        page.evaluate(
          (url) => fetch(url, { method: "POST", mode: "no-cors", body: "x" }).catch(() => null),
          api,
        ),
      ]);
      assert.match(simple.failure()?.errorText ?? "", /BLOCKED_BY_RESPONSE/);
      // With the token in a header the browser must ask first (preflight), and no CORS is granted.
      const withToken = await page.evaluate(
        ([url, token]) =>
          fetch(url, { method: "POST", headers: { "X-CMCS-Token": token } })
            .then((r) => `status ${r.status}`, (e) => String(e)),
        [api, token!] as const,
      );
      assert.match(withToken, /TypeError/, "the browser blocks it");

      const [response] = await Promise.all([
        page.waitForNavigation(),
        page.click("#go"),
      ]);
      assert.equal(response?.status(), 403);
      assert.match(await page.textContent("body") ?? "", /refused/);
      const run = getRun(fx.db, fx.runs.running)!;
      assert.equal(run.status, "running");
      assert.equal(run.stop_requested_at, null);
    } finally {
      await evil.shutdown();
    }
  },
});
