import { relative, sep } from "node:path";
import { requireProject, resolveTarget } from "../core/project.ts";
import { Database } from "../core/db/database.ts";
import { countRuns, queryRunSummaries, type RunSummary } from "../core/db/status_query.ts";
import { recoverOrphans } from "../core/recovery.ts";
import { stripControl } from "../core/codex_render.ts";
import { formatDuration, formatTable, formatTokens, paint, statusColor } from "../cli/output.ts";
import { printReport, type Report } from "../cli/report.ts";

export interface StatusOptions {
  active?: boolean;
  latest?: boolean;
  limit: number;
  json?: boolean;
}

/**
 * `cmcs status [path]`: runs newest first with their ticket counts, duration and tokens. With a
 * path, only that target's runs (the database is the main checkout's even when the path is a
 * linked worktree). Runs whose broker died are marked `interrupted` first, so what is listed as
 * running really is.
 */
export async function status(path: string | undefined, opts: StatusOptions): Promise<number> {
  return printReport(await statusReport(path, opts), opts.json);
}

/** The runs `cmcs status` lists, as its JSON document and its text lines. */
export async function statusReport(
  path: string | undefined,
  opts: StatusOptions,
): Promise<Report<{ runs: RunSummary[] }>> {
  const target = path === undefined ? undefined : await resolveTarget(path);
  const project = await requireProject(target ?? Deno.cwd());
  const db = Database.open(project.dbPath);
  let runs: RunSummary[];
  let more = 0;
  try {
    for (const run of await recoverOrphans(db)) {
      console.error(`note: run ${run.run_id} is now interrupted: its broker process is gone`);
      for (const error of run.errors) console.error(`warning: run ${run.run_id}: ${error}`);
      for (const note of run.settled) console.error(`warning: run ${run.run_id}: ${note}`);
    }
    const filter = { target, active: opts.active, latest: opts.latest };
    runs = queryRunSummaries(db, { ...filter, limit: opts.limit });
    if (!opts.json && runs.length === opts.limit) more = countRuns(db, filter) - runs.length;
  } finally {
    db.close();
  }

  const report = { code: 0, data: { runs }, text: [] as string[] };
  if (runs.length === 0) {
    const scope = target === undefined ? "" : ` for ${displayTarget(project.root, target)}`;
    report.text.push(opts.active ? `no running runs${scope}` : `no runs yet${scope}`);
    report.text.push("hint: start one with `cmcs run`");
    return report;
  }
  report.text.push(formatTable(
    [
      "ID",
      "STATUS",
      "TARGET",
      "TICKET",
      "STARTED",
      "DONE",
      "FAILED",
      "DURATION",
      "TOKENS",
      "STARTED_AT",
    ],
    runs.map((run) => [
      String(run.id),
      paint(statusColor(run.status), run.status),
      displayTarget(project.root, run.target),
      run.current_ticket ?? "-",
      String(run.tickets.started),
      String(run.tickets.done),
      String(run.tickets.failed),
      formatDuration(run.duration_s),
      formatTokens(run.tokens.total),
      run.started_at.replace(/\.\d+Z$/, "Z"),
    ]),
  ));
  if (more > 0) report.text.push(`… ${more} older run(s) not shown (use --limit)`);
  for (const run of latestFailures(runs)) {
    report.text.push(`run ${run.id} ${run.status}: ${cutLine(stripControl(run.message ?? ""))}`);
  }
  return report;
}

/**
 * Why each target's newest listed run failed, when it did: the one failure per target the
 * orchestrator has to act on (a usage limit says when it lifts, or that nobody knows). Older
 * failures of the same target are history and stay in `--json` and `cmcs result`.
 */
function latestFailures(runs: RunSummary[]): RunSummary[] {
  const seen = new Set<string>();
  const failures: RunSummary[] = [];
  for (const run of runs) {
    if (seen.has(run.target)) continue;
    seen.add(run.target);
    if ((run.status === "failed" || run.status === "interrupted") && run.message) {
      failures.push(run);
    }
  }
  return failures;
}

function cutLine(text: string, max = 400): string {
  const flat = text.replace(/\s*\n\s*/g, " ");
  return flat.length <= max ? flat : flat.slice(0, max - 1) + "…";
}

/** A target relative to the project root (`.` for the root); absolute when outside it. */
export function displayTarget(root: string, target: string): string {
  if (target === root) return ".";
  const rel = relative(root, target);
  return rel === "" || rel.startsWith("..") || rel.startsWith(sep) ? target : rel;
}
