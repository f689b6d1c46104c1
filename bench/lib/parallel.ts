/**
 * Many targets at once: the main checkout and git worktrees, each with its own open tickets,
 * run by one `cmcs run --all` with `run.max_parallel` = the number of targets; beside the floor
 * of the same tickets run one target at a time (`run.max_parallel: 1`). Checks that every ticket
 * ended done, every event was recorded, every commit was made, and no lock error appeared.
 */
import { join } from "node:path";
import { countRows, newProject } from "./fixtures.ts";
import { cmcs, git, INSTANT_CODEX, type ProcResult } from "./proc.ts";
import { median, progress, round } from "./stats.ts";
import { ms, type Section, type Settings } from "./types.ts";

/** Messages of SQLite or git lock contention. */
const LOCK_ERROR =
  /database is locked|SQLITE_BUSY|index\.lock|cannot lock ref|unable to create .*\.lock/i;

interface Checked {
  result: ProcResult;
  tickets: number;
  ticketsDone: number;
  events: number;
  eventsExpected: number;
  commits: number;
  lockErrors: number;
}

export async function benchParallel(root: string, s: Settings): Promise<Section> {
  const total = s.targets * s.targetTickets;
  const sequential: Checked[] = [];
  const parallel: Checked[] = [];
  progress(`parallel: ${s.targets} targets × ${s.targetTickets} tickets, one target at a time`);
  sequential.push(await runOnce(join(root, "sequential-0"), 1, s));
  progress(`parallel: one at a time: ${ms(sequential[0].result.ms)}`);
  for (let rep = 0; rep < s.parallelReps; rep++) {
    parallel.push(await runOnce(join(root, `parallel-${rep}`), s.targets, s));
    progress(
      `parallel: ${s.targets} at once, ${rep + 1}/${s.parallelReps}: ${
        ms(parallel.at(-1)!.result.ms)
      }`,
    );
  }
  const all = [...sequential, ...parallel];
  const lost = all.reduce(
    (n, c) => n + (c.eventsExpected - c.events) + (c.tickets - c.ticketsDone),
    0,
  );
  const missingCommits = all.reduce((n, c) => n + (c.tickets - c.commits), 0);
  const lockErrors = all.reduce((n, c) => n + c.lockErrors, 0);
  const seqMs = median(sequential.map((c) => c.result.ms));
  const parMs = median(parallel.map((c) => c.result.ms));
  const last = parallel.at(-1)!;
  const maxRss = (list: Checked[]) =>
    list.reduce<number | null>(
      (m, c) => c.result.maxRssKib === null ? m : Math.max(m ?? 0, c.result.maxRssKib),
      null,
    );
  return {
    rows: [{
      measure: `${s.targets} targets × ${s.targetTickets} tickets in parallel (git worktrees, ` +
        `\`cmcs run --all\`, run.max_parallel ${s.targets}, auto-commit on)`,
      floor: `one target at a time (run.max_parallel 1): ${(seqMs / 1000).toFixed(1)} s`,
      result: `${(parMs / 1000).toFixed(1)} s (speed-up ${(seqMs / parMs).toFixed(2)}×); ` +
        `${last.ticketsDone}/${total} tickets done, ${last.events}/${last.eventsExpected} events, ` +
        `${last.commits}/${total} commits; lost: ${lost}, lock errors: ${lockErrors}`,
      target: "no lost events, no lock errors; wall time reported",
      met: lost === 0 && lockErrors === 0 && missingCommits === 0,
      values: {
        floor_ms: round(seqMs),
        median_ms: round(parMs),
        speedup: round(seqMs / parMs, 3),
        lost,
        missing_commits: missingCommits,
        lock_errors: lockErrors,
      },
    }],
    details: {
      sequential_ms: sequential.map((c) => round(c.result.ms)),
      parallel_ms: parallel.map((c) => round(c.result.ms)),
      max_rss_kib: maxRss(parallel),
      max_rss_kib_sequential: maxRss(sequential),
    },
  };
}

/** A fresh project with its worktrees, one `cmcs run --all`, and the checks of what it left. */
async function runOnce(dir: string, maxParallel: number, s: Settings): Promise<Checked> {
  const main = await newProject(join(dir, "main"), {
    codex: { command: INSTANT_CODEX, auto_commit: true },
    run: { max_parallel: maxParallel },
  }, s.targetTickets);
  const targets = [main];
  for (let i = 1; i < s.targets; i++) {
    const path = join(dir, `wt-${String(i).padStart(2, "0")}`);
    await git(main, "worktree", "add", "-q", "-b", `bench-${i}`, path);
    targets.push(await Deno.realPath(path));
  }
  const result = await cmcs(["run", "--all", "--json"], { cwd: main, memory: true });
  const output = result.stdout + result.stderr;
  const lockErrors = output.split("\n").filter((line) => LOCK_ERROR.test(line)).length;
  let summary: { runs?: { status: string; tickets: { outcome: string }[] }[] } = {};
  try {
    summary = JSON.parse(result.stdout);
  } catch {
    throw new Error(`cmcs run --all printed no JSON (exit ${result.code}): ${result.stderr}`);
  }
  const runs = summary.runs ?? [];
  if (result.code !== 0 || runs.length !== s.targets) {
    progress(`warning: cmcs run --all exited ${result.code} with ${runs.length} runs`);
  }
  const ticketsDone = runs.reduce(
    (n, r) => n + r.tickets.filter((t) => t.outcome === "done").length,
    0,
  );
  const db = join(main, ".cmcs/cmcs.db");
  const events = countRows(db, "SELECT COUNT(*) AS n FROM events");
  const warnings = countRows(db, "SELECT COUNT(*) AS n FROM attempts WHERE warnings IS NOT NULL");
  let commits = 0;
  for (const target of targets) {
    commits += Number((await git(target, "rev-list", "--count", "HEAD")).trim()) - 2;
  }
  const total = s.targets * s.targetTickets;
  return {
    result,
    tickets: total,
    ticketsDone,
    events,
    // Per run: run_started and run_finished; per ticket: started, completed and committed.
    eventsExpected: s.targets * 2 + total * 3,
    commits,
    lockErrors: lockErrors + warnings,
  };
}
