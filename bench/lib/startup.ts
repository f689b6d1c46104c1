/** Start-up: `cmcs --help` and `cmcs status --json` on a small and a big history, beside an empty Deno program. */
import { join } from "node:path";
import { fillHistory, newProject } from "./fixtures.ts";
import { cmcs, emptyDeno, PERMISSIONS, type ProcResult, ROOT, runProcess } from "./proc.ts";
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

/**
 * Builds the one-file program (scripts/bundle.ts) into `root`, for the decomposition of start-up;
 * null when it cannot be built (the main measures do not depend on it).
 */
async function buildBundle(root: string): Promise<string | null> {
  const output = join(root, "cmcs.js");
  const result = await runProcess(Deno.execPath(), [
    "run",
    "--quiet",
    "--allow-read",
    "--allow-write",
    "--allow-run",
    "--allow-env",
    join(ROOT, "scripts/bundle.ts"),
    "--output",
    output,
  ], { cwd: ROOT });
  if (result.code !== 0) {
    progress(`start-up: no bundle (${result.stderr.trim().split("\n")[0]}); skipping its cases`);
    return null;
  }
  return output;
}

export async function benchStartup(
  root: string,
  p: StartupProjects,
  s: Settings,
): Promise<Section> {
  const ok = async (label: string, run: Promise<ProcResult>) => {
    const r = await run;
    if (r.code !== 0) throw new Error(`${label} exited ${r.code}: ${r.stderr.trim()}`);
    return r;
  };
  const check = JSON.parse(
    (await ok("status", cmcs(["status", "--json", "--limit", "20"], { cwd: p.big }))).stdout,
  );
  if (!Array.isArray(check.runs) || check.runs.length !== Math.min(20, s.historyRuns)) {
    throw new Error("cmcs status --json on the big history did not list its runs");
  }
  const bundle = await buildBundle(root);
  const deno = (cwd: string, ...args: string[]) =>
    runProcess(Deno.execPath(), ["run", "--quiet", ...PERMISSIONS, ...args], { cwd });
  const cases: Record<string, () => Promise<ProcResult>> = {
    empty: () => ok("empty deno run", emptyDeno({ cwd: p.small })),
    help: () => ok("cmcs --help", cmcs(["--help"], { cwd: p.small })),
    status_small: () => ok("cmcs status (10 runs)", cmcs(["status", "--json"], { cwd: p.small })),
    status_big: () => ok("cmcs status (big)", cmcs(["status", "--json"], { cwd: p.big })),
    commander_only: () =>
      ok("commander only", deno(p.small, join(ROOT, "bench/fixtures/commander_only.ts"))),
  };
  if (bundle) {
    cases.bundle_help = () => ok("bundle --help", deno(p.small, bundle, "--help"));
    cases.bundle_status_big = () =>
      ok("bundle status (big)", deno(p.big, bundle, "status", "--json"));
  }
  progress(`start-up: ${s.startupReps} rounds of ${Object.keys(cases).length} commands`);
  const samples = await roundRobin(cases, s.startupReps);
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
      medians_ms: Object.fromEntries(
        Object.entries(samples).map(([k, v]) => [k, round(median(v))]),
      ),
      samples_ms: Object.fromEntries(
        Object.entries(samples).map(([k, v]) => [k, v.map((x) => round(x))]),
      ),
    },
  };
}
