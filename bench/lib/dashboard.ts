/**
 * The dashboard (`cmcs dashboard`, a real process) over the big history: the overview page and
 * `/api/runs`, and the time from an event being written to the database to an SSE client of
 * `/api/events/stream` receiving it. Also its peak memory.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { BASE_ENV, MAIN, PERMISSIONS, readHwmKib } from "./proc.ts";
import { median, percentile, progress, round, roundRobin } from "./stats.ts";
import { ms, type Section, type Settings } from "./types.ts";

const PAGE_TARGET_MS = 15;
const EVENT_TARGET_MS = 300;

export async function benchDashboard(project: string, s: Settings): Promise<Section> {
  progress("dashboard: starting `cmcs dashboard --port 0`");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSIONS, MAIN, "dashboard", "--port", "0"],
    cwd: project,
    env: BASE_ENV,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const url = await readUrl(lines);
    const get = async (path: string) => {
      const response = await fetch(url + path.replace(/^\//, ""));
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`GET ${path}: ${response.status}`);
    };
    progress(`dashboard: ${s.pageReps} rounds of / and /api/runs`);
    const pages = await roundRobin({
      overview: () => get("/"),
      api_runs: () => get("/api/runs"),
    }, s.pageReps);
    progress(`dashboard: ${s.sseEvents} events through /api/events/stream`);
    const latencies = await sseLatencies(url, join(project, ".cmcs/cmcs.db"), s.sseEvents);
    const hwm = await readHwmKib(child.pid);
    const overview = median(pages.overview);
    const api = median(pages.api_runs);
    const eventMedian = median(latencies);
    const eventMax = Math.max(...latencies);
    const runs = s.historyRuns.toLocaleString("en");
    return {
      rows: [
        {
          measure: `dashboard overview page (\`/\`), ${runs} runs`,
          floor: "—",
          result: `${ms(overview)} (p95 ${ms(percentile(pages.overview, 95))})`,
          target: `≤ ${PAGE_TARGET_MS} ms`,
          met: overview <= PAGE_TARGET_MS,
          values: { median_ms: round(overview), p95_ms: round(percentile(pages.overview, 95)) },
        },
        {
          measure: `dashboard \`/api/runs\`, ${runs} runs`,
          floor: "—",
          result: `${ms(api)} (p95 ${ms(percentile(pages.api_runs, 95))})`,
          target: `≤ ${PAGE_TARGET_MS} ms`,
          met: api <= PAGE_TARGET_MS,
          values: { median_ms: round(api), p95_ms: round(percentile(pages.api_runs, 95)) },
        },
        {
          measure: "event recorded → SSE client (`/api/events/stream`)",
          floor: "—",
          result: `median ${ms(eventMedian)}, max ${ms(eventMax)} (${latencies.length} events)`,
          target: `≤ ${EVENT_TARGET_MS} ms per event`,
          met: eventMax <= EVENT_TARGET_MS,
          values: { median_ms: round(eventMedian), max_ms: round(eventMax) },
        },
      ],
      details: {
        overview_ms: pages.overview.map((x) => round(x)),
        api_runs_ms: pages.api_runs.map((x) => round(x)),
        sse_latency_ms: latencies.map((x) => round(x)),
        max_rss_kib: hwm,
      },
    };
  } finally {
    try {
      child.kill("SIGINT");
    } catch { /* already gone */ }
    await child.status;
    await lines.cancel().catch(() => {});
    const err = (await stderr).trim();
    if (err) progress(`dashboard stderr: ${err.split("\n").slice(-3).join(" / ")}`);
  }
}

async function readUrl(lines: ReadableStreamDefaultReader<string>): Promise<string> {
  let text = "";
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { value, done } = await lines.read();
    if (done) break;
    text += value;
    const match = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(text);
    if (match) return match[1];
  }
  throw new Error(`the dashboard printed no URL: ${text}`);
}

/**
 * Opens the event stream, then writes `count` events straight into the database at random moments
 * (so they fall anywhere in the dashboard's poll cycle) and times each from its commit to the
 * moment its `id:` line arrives.
 */
async function sseLatencies(url: string, dbPath: string, count: number): Promise<number[]> {
  const controller = new AbortController();
  const response = await fetch(url + "api/events/stream", { signal: controller.signal });
  if (!response.ok || !response.body) throw new Error(`event stream: ${response.status}`);
  const arrived = new Map<number, number>();
  const waiters = new Map<number, () => void>();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let ready: () => void = () => {};
  const open = new Promise<void>((r) => ready = r);
  const pump = (async () => {
    let buffer = "";
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        const now = performance.now();
        ready();
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 1);
          const id = /^id: ?(\d+)$/.exec(line);
          if (id) {
            arrived.set(Number(id[1]), now);
            waiters.get(Number(id[1]))?.();
          }
        }
      }
    } catch { /* aborted */ }
  })();
  await open; // the `retry:` preamble: the stream is live
  const db = new DatabaseSync(dbPath);
  db.exec("PRAGMA busy_timeout = 10000");
  const runId = Number(
    (db.prepare("SELECT MAX(id) AS id FROM runs").get() as { id: number }).id,
  );
  const insert = db.prepare(
    "INSERT INTO events (run_id, ticket, event, timestamp, message) VALUES (?, '', 'warning', ?, 'bench')",
  );
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 400));
      const id = Number(insert.run(runId, new Date().toISOString()).lastInsertRowid);
      const written = performance.now();
      const got = new Promise<void>((resolve) => waiters.set(id, resolve));
      if (!arrived.has(id)) {
        const timeout = new Promise<void>((r) => setTimeout(r, 5000));
        await Promise.race([got, timeout]);
      }
      const at = arrived.get(id);
      latencies.push(at === undefined ? 5000 : at - written);
    }
  } finally {
    db.close();
    controller.abort();
    await reader.cancel().catch(() => {});
    await pump;
  }
  return latencies;
}
