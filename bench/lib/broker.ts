/**
 * Broker overhead per ticket: a run of N tickets with the near-instant worker, minus cmcs's own
 * start-up (a run with nothing to do) and N times the worker's own time, divided by N; with
 * auto-commit off and on. Also times, one by one, the steps the broker takes per ticket, so a
 * missed target can be explained.
 */
import { join } from "node:path";
import { Database } from "../../src/core/db/database.ts";
import { recordEvent } from "../../src/core/db/events.ts";
import { createRun } from "../../src/core/db/runs.ts";
import { CodexStream } from "../../src/core/codex_events.ts";
import { LineSplitter } from "../../src/core/line_splitter.ts";
import { processStartToken } from "../../src/core/process_identity.ts";
import { ProcReader } from "../../src/core/proc_reader.ts";
import { listProcesses, processesWithToken } from "../../src/core/process_tree.ts";
import { buildPrompt } from "../../src/core/runner/prompt.ts";
import { MAX_EVENT_LINE_BYTES } from "../../src/core/runner/execute_worker.ts";
import { discoverTickets, parseTicket } from "../../src/core/tickets.ts";
import { headCommit } from "../../src/core/git.ts";
import { setsidProgram, spawnInOwnSession } from "../../src/core/own_session.ts";
import { contentHashes, diffWorkingTree, treeState } from "../../src/core/git_changes.ts";
import { newProject, newRepo, ticketName, ticketText } from "./fixtures.ts";
import { BASE_ENV, cmcs, git, INSTANT_CODEX, type ProcResult } from "./proc.ts";
import { median, progress, round, roundRobin, timed } from "./stats.ts";
import { ms, type Row, type Section, type Settings } from "./types.ts";

/** The targets: broker overhead per ticket beyond the floors. */
const OVERHEAD_TARGET_MS = 10;

const quiet = { stdin: "null", stdout: "null", stderr: "null" } as const;

export async function benchBroker(root: string, s: Settings): Promise<Section> {
  const floors = await measureFloors(root, s);
  const worker = await measureWorker(root, s);
  const steps = await measureSteps(root, s);

  progress(`broker: cmcs run with nothing to do, ${s.runReps * 2} times`);
  const idle = await newProject(join(root, "broker-idle"), { codex: { auto_commit: false } }, 0);
  for (let i = 1; i <= s.tickets; i++) {
    await Deno.writeTextFile(
      join(idle, ".cmcs/tickets", ticketName(i)),
      ticketText(i).replace("done: false", "done: true"),
    );
  }
  const startup = (await roundRobin({
    idle: () => runOk(["run", "--json"], idle, 0),
  }, s.runReps * 2)).idle;

  const runs: Record<"off" | "on", ProcResult[]> = { off: [], on: [] };
  for (let rep = 0; rep < s.runReps; rep++) {
    for (const mode of ["off", "on"] as const) {
      const dir = join(root, `broker-${mode}-${rep}`);
      const project = await newProject(dir, { codex: { auto_commit: mode === "on" } }, s.tickets);
      const result = await runOk(["run", "--json"], project, s.tickets);
      if (mode === "on") {
        const commits = Number((await git(project, "rev-list", "--count", "HEAD")).trim());
        if (commits !== 2 + s.tickets) {
          throw new Error(`auto-commit on: expected ${s.tickets} commits, found ${commits - 2}`);
        }
      }
      runs[mode].push(result);
      progress(
        `broker: run of ${s.tickets} tickets, auto-commit ${mode}, ${rep + 1}/${s.runReps}: ${
          ms(result.ms)
        }`,
      );
    }
  }

  const startupMs = median(startup);
  const workerMs = median(worker.plain);
  const overhead = (mode: "off" | "on") => {
    const wall = median(runs[mode].map((r) => r.ms));
    return { wall, perTicket: (wall - startupMs - s.tickets * workerMs) / s.tickets };
  };
  const off = overhead("off");
  const on = overhead("on");
  const trueMs = median(floors.binTrue);
  const gitMs = median(floors.gitCommit);
  const describe = (o: { wall: number; perTicket: number }) =>
    `${ms(o.perTicket)} per ticket (run of ${s.tickets}: ${ms(o.wall)}; start-up ${
      ms(startupMs)
    }; worker ${ms(workerMs)} each)`;
  const rows: Row[] = [
    {
      measure: `broker overhead per ticket, auto-commit off (${s.tickets} tickets)`,
      floor: `spawning /bin/true: ${ms(trueMs)}`,
      result: describe(off),
      target: `≤ ${OVERHEAD_TARGET_MS} ms`,
      met: off.perTicket <= OVERHEAD_TARGET_MS,
      values: {
        floor_ms: round(trueMs),
        per_ticket_ms: round(off.perTicket),
        run_ms: round(off.wall),
        startup_ms: round(startupMs),
        worker_ms: round(workerMs),
      },
    },
    {
      measure: `broker overhead per ticket, auto-commit on (${s.tickets} tickets)`,
      floor: `\`git add\` + \`git commit\`: ${ms(gitMs)}`,
      result: describe(on),
      target: `≤ git's own cost + ${OVERHEAD_TARGET_MS} ms (${ms(gitMs + OVERHEAD_TARGET_MS)})`,
      met: on.perTicket <= gitMs + OVERHEAD_TARGET_MS,
      values: {
        floor_ms: round(gitMs),
        per_ticket_ms: round(on.perTicket),
        run_ms: round(on.wall),
        startup_ms: round(startupMs),
        worker_ms: round(workerMs),
      },
    },
  ];
  const maxRss = (list: ProcResult[]) =>
    list.reduce<number | null>(
      (m, r) => r.maxRssKib === null ? m : Math.max(m ?? 0, r.maxRssKib),
      null,
    );
  return {
    rows,
    details: {
      floors_ms: { bin_true: round(trueMs), git_add_commit: round(gitMs) },
      worker_ms: { plain: round(workerMs), detached: round(median(worker.detached)) },
      idle_run_ms: startup.map((x) => round(x)),
      run_ms: {
        off: runs.off.map((r) => round(r.ms)),
        on: runs.on.map((r) => round(r.ms)),
      },
      steps_ms: steps,
      max_rss_kib: maxRss([...runs.off, ...runs.on, ...[]]),
    },
  };
}

/** The broker's peak memory over its one-target runs (KiB), from a section's details. */
export function brokerMaxRss(section: Section): number | null {
  return section.details.max_rss_kib as number | null;
}

async function runOk(args: string[], cwd: string, tickets: number): Promise<ProcResult> {
  const result = await cmcs(args, { cwd, memory: true });
  if (result.code !== 0) {
    throw new Error(`cmcs ${args.join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
  }
  const summary = JSON.parse(result.stdout);
  const run = summary.runs?.[0];
  const done = (run?.tickets ?? []).filter((t: { outcome: string }) => t.outcome === "done");
  if (run?.status !== "completed" || done.length !== tickets) {
    throw new Error(`cmcs run did not complete its ${tickets} tickets: ${result.stdout}`);
  }
  return result;
}

async function measureFloors(root: string, s: Settings) {
  progress("broker: floors (/bin/true, git add + git commit)");
  const binTrue = (await roundRobin({
    t: () => new Deno.Command("/bin/true", quiet).output(),
  }, s.spawnReps)).t;
  const repo = await newRepo(join(root, "git-floor"));
  const gitCommit: number[] = [];
  for (let i = 0; i <= Math.max(3, Math.ceil(s.spawnReps / 2)); i++) {
    await Deno.writeTextFile(join(repo, "file.txt"), `change ${i}\n`);
    const t = await timed(async () => {
      await git(repo, "add", "-A", "--", "file.txt");
      await git(repo, "commit", "--quiet", "-m", `change ${i}`);
    });
    if (i > 0) gitCommit.push(t);
  }
  return { binTrue, gitCommit };
}

/** The instant worker run directly (prompt in, JSONL out), as cmcs would run it but without cmcs. */
async function measureWorker(root: string, s: Settings) {
  progress("broker: the worker's own time");
  const repo = await newRepo(join(root, "worker-alone"));
  const path = join(repo, ticketName(1));
  await Deno.writeTextFile(path, ticketText(1));
  const entry = parseTicket(path, await Deno.readFile(path));
  if (!entry.ok) throw new Error("bench ticket does not parse");
  const prompt = new TextEncoder().encode(
    buildPrompt({ target: repo, ticket: entry.ticket, previousProgress: null }),
  );
  const once = async (detached: boolean) => {
    await Deno.writeTextFile(path, ticketText(1));
    const start = performance.now();
    const child = new Deno.Command(INSTANT_CODEX, {
      args: ["exec", "--json", "-C", repo, "-"],
      cwd: repo,
      env: BASE_ENV,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      detached,
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(prompt);
    await writer.close();
    const out = await child.output();
    const elapsed = performance.now() - start;
    if (out.code !== 0 || !(await Deno.readTextFile(path)).includes("done: true")) {
      throw new Error(`the instant worker failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return elapsed;
  };
  const samples = await roundRobin({
    plain: () => once(false),
    detached: () => once(true),
  }, s.spawnReps);
  return { plain: samples.plain, detached: samples.detached };
}

/**
 * The steps a broker takes for each ticket, each timed alone with cmcs's own functions (this
 * process has the same permissions problem with /proc as cmcs) or the same git command lines.
 */
async function measureSteps(root: string, s: Settings): Promise<Record<string, number>> {
  progress("broker: timing each per-ticket step alone");
  const project = await newProject(join(root, "steps"), {}, s.tickets);
  const tickets = join(project, ".cmcs/tickets");
  // Half the tickets edited and uncommitted: the middle of an auto-commit-off run.
  const dirty: string[] = [];
  for (let i = 1; i <= Math.ceil(s.tickets / 2); i++) {
    await Deno.writeTextFile(join(tickets, ticketName(i)), ticketText(i) + "\n## Progress\n");
    dirty.push(`.cmcs/tickets/${ticketName(i)}`);
  }
  const db = Database.open(join(project, ".cmcs/cmcs.db"));
  const run = createRun(db, project, { pid: Deno.pid, start: null });
  const token = crypto.randomUUID();
  const head = await headCommit(project);
  const helper = ProcReader.start();
  if (!helper) throw new Error("the /proc helper (sh) did not start");
  const oneLine = jsonlChunks(1, 4 * 2 ** 20);
  const manyLines = jsonlChunks(4096, 1024);
  const samples = await roundRobin({
    "spawn /bin/true": () => new Deno.Command("/bin/true", quiet).output(),
    "spawn /bin/true detached (own session: a fork of this process)": async () => {
      await new Deno.Command("/bin/true", { ...quiet, detached: true }).spawn().status;
    },
    [
      `spawn /bin/true in its own session the broker's way (${
        setsidProgram() ? "through setsid, no fork" : "no setsid here: detached"
      })`
    ]: async () => {
      await spawnInOwnSession("/bin/true", quiet).child.status;
    },
    "git rev-parse HEAD": () => headCommit(project),
    "git status (HEAD and uncommitted paths)": () => treeState(project),
    [`hash ${dirty.length} uncommitted files (in-process since the fixes)`]: () =>
      contentHashes(project, dirty),
    "git diff --numstat (1 path)": () => diffWorkingTree(project, head, [dirty[0]]),
    "process start token (cat /proc/<pid>/stat)": () =>
      Promise.resolve(processStartToken(Deno.pid)),
    "token carriers (sh + grep of /proc/*/environ)": () =>
      Promise.resolve(processesWithToken(token)),
    "process start token, through the broker's /proc helper": () => helper.stats([Deno.pid]),
    "token carriers, through the broker's /proc helper (grep)": () =>
      helper.carriers(`CMCS_ATTEMPT_ID=${token}`),
    "whole process table (sh: cat /proc/*/stat)": () => Promise.resolve(listProcesses()),
    [`discover ${s.tickets} tickets (unchanged since the last look)`]: () =>
      discoverTickets(tickets),
    "read 4 MiB of worker stdout as one JSONL line (64 KiB chunks)": () =>
      Promise.resolve(readStdout(oneLine)),
    "read 4 MiB of worker stdout as 4096 JSONL lines (64 KiB chunks)": () =>
      Promise.resolve(readStdout(manyLines)),
    "one event written (SQLite transaction)": () =>
      Promise.resolve(recordEvent(db, { runId: run.id, event: "warning", message: "bench" })),
  }, s.spawnReps);
  await helper.close();
  db.close();
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, round(median(v))]));
}

/**
 * `count` agent-message lines of about `lineBytes` each, as the 64 KiB chunks a pipe hands over:
 * the worker's stdout as the runner reads it.
 */
function jsonlChunks(count: number, lineBytes: number): Uint8Array[] {
  const line = JSON.stringify({
    type: "item.completed",
    item: { id: "item_1", type: "agent_message", text: "x".repeat(lineBytes) },
  }) + "\n";
  const bytes = new TextEncoder().encode(line.repeat(count));
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 65536) chunks.push(bytes.subarray(i, i + 65536));
  return chunks;
}

/** The runner's stdout reading alone: lines split and parsed into the stream's state. */
function readStdout(chunks: Uint8Array[]): CodexStream {
  const stream = new CodexStream();
  const lines = new LineSplitter(MAX_EVENT_LINE_BYTES, (line) => stream.push(line));
  for (const chunk of chunks) lines.push(chunk);
  lines.end();
  return stream;
}
