/** Start-up: `cmcs --help` and `cmcs status --json` on a small and a big history, beside an empty Deno program. */
import { join } from "node:path";
import { fillHistory, newProject } from "./fixtures.ts";
import { cmcs, emptyDeno, type ProcResult } from "./proc.ts";
import { median, progress, round, roundRobin } from "./stats.ts";
import { ms, type Row, type Section, type Settings } from "./types.ts";

/** How far above the empty program cmcs may start (the target). */
const RATIO_TARGET = 1.6;

export interface StartupProjects {
  small: string;
  /** The project with the big history; the dashboard benchmark reuses it. */
  big: string;
}

export async function buildHistories(root: string, s: Settings): Promise<StartupProjects> {
  const small = await newProject(join(root, "history-small"), {}, 0);
  fillHistory(join(small, ".cmcs/cmcs.db"), 10, [small]);
  const big = await newProject(join(root, "history-big"), {}, 0);
  const targets = [big, ...Array.from({ length: 15 }, (_, i) => join(root, `elsewhere/wt-${i}`))];
  progress(`writing a history of ${s.historyRuns} runs (${s.historyRuns * 5} events)`);
  fillHistory(join(big, ".cmcs/cmcs.db"), s.historyRuns, targets);
  return { small, big };
}

export async function benchStartup(p: StartupProjects, s: Settings): Promise<Section> {
  const ok = async (label: string, run: Promise<ProcResult>) => {
    const r = await run;
    if (r.code !== 0) throw new Error(`${label} exited ${r.code}: ${r.stderr.trim()}`);
    return r;
  };
  const check = JSON.parse((await ok("status", cmcs(["status", "--json"], { cwd: p.big }))).stdout);
  if (!Array.isArray(check.runs) || check.runs.length !== Math.min(20, s.historyRuns)) {
    throw new Error("cmcs status --json on the big history did not list its runs");
  }
  progress(`start-up: ${s.startupReps} rounds of 4 commands`);
  const samples = await roundRobin({
    empty: () => ok("empty deno run", emptyDeno({ cwd: p.small })),
    help: () => ok("cmcs --help", cmcs(["--help"], { cwd: p.small })),
    status_small: () => ok("cmcs status (10 runs)", cmcs(["status", "--json"], { cwd: p.small })),
    status_big: () => ok("cmcs status (big)", cmcs(["status", "--json"], { cwd: p.big })),
  }, s.startupReps);
  const floor = median(samples.empty);
  const row = (measure: string, name: string): Row => {
    const value = median(samples[name]);
    const ratio = value / floor;
    return {
      measure,
      floor: `empty \`deno run\`: ${ms(floor)}`,
      result: `${ms(value)} (${ratio.toFixed(2)}× floor)`,
      target: `≤ ${RATIO_TARGET}× floor`,
      met: ratio <= RATIO_TARGET,
      values: { floor_ms: round(floor), median_ms: round(value), ratio: round(ratio, 3) },
    };
  };
  const events = s.historyRuns * 5;
  return {
    rows: [
      row("`cmcs --help`", "help"),
      row("`cmcs status --json`, 10 runs", "status_small"),
      row(
        `\`cmcs status --json\`, ${s.historyRuns.toLocaleString("en")} runs (${
          events.toLocaleString("en")
        } events)`,
        "status_big",
      ),
    ],
    details: {
      samples_ms: Object.fromEntries(
        Object.entries(samples).map(([k, v]) => [k, v.map((x) => round(x))]),
      ),
    },
  };
}
