/**
 * `deno task bench`: how fast cmcs is, beside the floor it cannot beat. Builds its own projects
 * and histories in a temp dir, runs cmcs as a real process, and writes bench/results.md and
 * bench/results.json (or to `--out DIR`). `--quick` runs tiny sizes with two repetitions, only to
 * prove the benchmark works (tests/bench_smoke_test.ts); `--keep` leaves the temp dir in place;
 * `--render` only rewrites results.md from results.json and bench/analysis.md.
 * Progress goes to stderr; the table and the machine go to stdout at the end.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { benchBroker } from "./lib/broker.ts";
import { benchDashboard } from "./lib/dashboard.ts";
import { tempRoot } from "./lib/fixtures.ts";
import { benchParallel } from "./lib/parallel.ts";
import { emptyDeno, memoryMethod, ROOT } from "./lib/proc.ts";
import { machine, machineLine, markdown, markdownTable, type Results } from "./lib/report.ts";
import { median, progress, round } from "./lib/stats.ts";
import { benchStartup, buildHistories } from "./lib/startup.ts";
import { FULL, mib, QUICK, type Row, type Section } from "./lib/types.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    keep: { type: "boolean", default: false },
    render: { type: "boolean", default: false },
  },
});

async function readAnalysis(): Promise<string | null> {
  try {
    return await Deno.readTextFile(join(ROOT, "bench/analysis.md"));
  } catch {
    return null; // no analysis written yet
  }
}

const settings = flags.quick ? QUICK : FULL;
const outDir = flags.out ?? join(ROOT, "bench");
if (flags.render) {
  const results: Results = JSON.parse(await Deno.readTextFile(join(outDir, "results.json")));
  await Deno.writeTextFile(join(outDir, "results.md"), markdown(results, await readAnalysis()));
  console.log(`Wrote ${join(outDir, "results.md")} from results.json.`);
  Deno.exit(0);
}
const started = performance.now();
const loadBefore = Deno.loadavg();
const root = await tempRoot();
progress(`working in ${root}${settings.quick ? " (quick mode)" : ""}`);

try {
  const histories = await buildHistories(root, settings);
  const startup = await benchStartup(root, histories, settings);
  const broker = await benchBroker(root, settings);
  const parallel = await benchParallel(root, settings);
  const dashboard = await benchDashboard(histories.big, settings);
  const memory = await memoryRows(
    broker.details.max_rss_kib as number | null,
    parallel.details.max_rss_kib as number | null,
    dashboard.details.max_rss_kib as number | null,
    settings.targets,
  );

  const sections: Section[] = [startup, broker, parallel, dashboard, memory];
  const results: Results = {
    generated_at: new Date().toISOString(),
    settings,
    machine: await machine(loadBefore),
    memory_method: await memoryMethod(),
    duration_s: round((performance.now() - started) / 1000, 1),
    rows: sections.flatMap((s) => s.rows),
    details: {
      startup: startup.details,
      broker: broker.details,
      broker_steps_ms: broker.details.steps_ms,
      parallel: parallel.details,
      dashboard: dashboard.details,
      memory: memory.details,
    },
  };
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeTextFile(
    join(outDir, "results.json"),
    JSON.stringify(results, null, 2) + "\n",
  );
  await Deno.writeTextFile(join(outDir, "results.md"), markdown(results, await readAnalysis()));
  console.log(markdownTable(results.rows));
  console.log(`\nMachine: ${machineLine(results.machine)}.`);
  console.log(`Wrote ${join(outDir, "results.md")} and results.json in ${results.duration_s} s.`);
} finally {
  if (flags.keep) progress(`kept ${root}`);
  else await Deno.remove(root, { recursive: true }).catch(() => {});
}

/** Peak memory of cmcs's processes beside an empty Deno program's. */
async function memoryRows(
  oneTarget: number | null,
  manyTargets: number | null,
  dashboardKib: number | null,
  targets: number,
): Promise<Section> {
  progress("memory: the empty program's peak");
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await emptyDeno({ cwd: root, memory: true });
    if (r.maxRssKib !== null) samples.push(r.maxRssKib);
  }
  const floor = samples.length ? median(samples) : null;
  const row = (measure: string, kib: number | null): Row => ({
    measure,
    floor: `empty \`deno run\`: ${mib(floor)}`,
    result: mib(kib),
    target: "reported",
    met: null,
    values: { floor_kib: floor, max_rss_kib: kib },
  });
  return {
    rows: [
      row("peak memory of `cmcs run`, one target", oneTarget),
      row(`peak memory of \`cmcs run\`, ${targets} targets`, manyTargets),
      row("peak memory of `cmcs dashboard` (after the page and SSE benchmarks)", dashboardKib),
    ],
    details: { floor_kib: samples },
  };
}
