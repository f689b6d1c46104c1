import { relative, sep } from "../core/path.ts";
import { requireProject, resolveTarget } from "../core/project.ts";
import { Database } from "../core/db/database.ts";
import {
  countRuns,
  queryRunSummaries,
  type RunFilter,
  type RunSummary,
} from "../core/db/status_query.ts";
import type { RunStatus } from "../core/db/types.ts";
import { queueCounts, type QueuedTicket, reviewQueue } from "../core/review/review_queue.ts";
import { commandPath, shellWord } from "../core/command_words.ts";
import { recoverOrphans } from "../core/recovery.ts";
import {
  formatDuration,
  formatTable,
  formatTokens,
  paint,
  printError,
  statusColor,
} from "../cli/output.ts";
import { printReport, type Report } from "../cli/report.ts";

export interface StatusOptions {
  active?: boolean;
  latest?: boolean;
  /** Without it: every running run plus the {@link RECENT_RUNS} newest. */
  limit?: number;
  json?: boolean;
}

/** Runs listed besides the running ones when no `--limit` is given. */
export const RECENT_RUNS = 10;
/** Longest run message in `status --json`, as in the text; the whole one is in `cmcs result`. */
const JSON_MESSAGE_CHARS = 400;
/** Tickets named per target on a review line before the rest are counted. */
const TICKETS_PER_LINE = 8;

/** One run in `status --json`: a field that would be null is left out. */
export interface StatusJsonRun {
  id: number;
  /** Relative to the project root (`.` for the main checkout), as the text shows it. */
  target: string;
  branch?: string;
  status: RunStatus;
  started_at: string;
  duration_s: number;
  /** The ticket being worked on, while the run runs. */
  ticket?: string;
  tickets: RunSummary["tickets"] & { awaiting_review: number };
  /** input + output tokens of every attempt; the breakdown is in `cmcs result --json`. */
  tokens: number;
  /** Why the run ended as it did (cut at 400 characters). */
  message?: string;
}

/** A ticket of the review queue in `status --json`. */
export interface StatusJsonTicket {
  target: string;
  ticket: string;
  run_id: number;
}

/** What `cmcs status --json` prints. */
export interface StatusJson {
  /** The main checkout's root; each run's `target` is relative to it. */
  project: string;
  runs: StatusJsonRun[];
  /** Runs the filter matched beyond those listed; left out when 0. */
  not_shown?: number;
  review: {
    awaiting_review: StatusJsonTicket[];
    sent_back: StatusJsonTicket[];
    accepted: number;
  };
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

/**
 * The runs `cmcs status` lists and its review queue, as its JSON document and its text lines.
 * Notes about runs found interrupted go to stderr as they are found.
 */
export async function statusReport(
  path: string | undefined,
  opts: Omit<StatusOptions, "json">,
): Promise<Report<StatusJson>> {
  const target = path === undefined ? undefined : await resolveTarget(path);
  // Read-only and run on every prompt: no git process when the target is a main checkout.
  const project = await requireProject(target ?? Deno.cwd(), { quick: true });
  const db = Database.open(project.dbPath);
  let runs: RunSummary[];
  let more = 0;
  let queue: QueuedTicket[];
  try {
    for (const run of await recoverOrphans(db)) {
      printError(`note: run ${run.run_id} is now interrupted: its broker process is gone`);
      for (const error of run.errors) printError(`warning: run ${run.run_id}: ${error}`);
      for (const note of run.settled) printError(`warning: run ${run.run_id}: ${note}`);
    }
    const filter = { target, active: opts.active, latest: opts.latest };
    runs = listRuns(db, filter, opts.limit);
    more = countRuns(db, filter) - runs.length;
    queue = reviewQueue(db, { target });
  } finally {
    db.close();
  }
  const awaiting = queue.filter((t) => t.state === "awaiting_review");
  const awaitingIn = (run: RunSummary) => awaiting.filter((t) => t.run_id === run.id).length;

  // A queue lists many tickets of few targets: each target's path is worked out once.
  const shown = new Map<string, string>();
  const label = (t: QueuedTicket): StatusJsonTicket => {
    let target = shown.get(t.target);
    if (target === undefined) shown.set(t.target, target = displayTarget(project.root, t.target));
    return { target, ticket: t.ticket, run_id: t.run_id };
  };
  const data: StatusJson = {
    project: project.root,
    runs: runs.map((run) => statusJsonRun(project.root, run, awaitingIn(run))),
    ...(more > 0 ? { not_shown: more } : {}),
    review: {
      awaiting_review: awaiting.map(label),
      sent_back: queue.filter((t) => t.state === "sent_back").map(label),
      accepted: queueCounts(queue).accepted,
    },
  };
  const textLines = (): string[] => {
    const text: string[] = [];
    if (runs.length === 0) {
      const scope = target === undefined ? "" : ` for ${displayTarget(project.root, target)}`;
      text.push(opts.active ? `no running runs${scope}` : `no runs yet${scope}`);
      text.push("hint: start one with `cmcs run`");
      return text;
    }
    text.push(formatTable(
      [
        "ID",
        "STATUS",
        "TARGET",
        "TICKET",
        "STARTED",
        "DONE",
        "FAILED",
        "REVIEW",
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
        String(awaitingIn(run)),
        formatDuration(run.duration_s),
        formatTokens(run.tokens.total),
        run.started_at.replace(/\.\d+Z$/, "Z"),
      ]),
    ));
    if (more > 0) text.push(`… ${more} older run(s) not shown (use --limit)`);
    for (const run of latestFailures(runs)) {
      text.push(`run ${run.id} ${run.status}: ${cutLine(run.message ?? "")}`);
    }
    text.push(...reviewLines(queue));
    return text;
  };
  // Built only when read: `status --json` runs on every prompt and never prints the table.
  let text: string[] | undefined;
  return {
    code: 0,
    data,
    get text() {
      return text ??= textLines();
    },
  };
}

/**
 * The runs to list: `limit` newest, or without a limit every running run plus the
 * {@link RECENT_RUNS} newest, so a long-running run never drops off the list.
 */
function listRuns(
  db: Database,
  filter: Omit<RunFilter, "limit">,
  limit: number | undefined,
): RunSummary[] {
  if (limit !== undefined) return queryRunSummaries(db, { ...filter, limit });
  const recent = queryRunSummaries(db, { ...filter, limit: RECENT_RUNS });
  const shown = new Set(recent.map((run) => run.id));
  const running = queryRunSummaries(db, { ...filter, active: true, limit: 1000 })
    .filter((run) => !shown.has(run.id));
  return [...recent, ...running].sort((a, b) => b.id - a.id);
}

function statusJsonRun(root: string, run: RunSummary, awaiting: number): StatusJsonRun {
  const json: StatusJsonRun = {
    id: run.id,
    target: displayTarget(root, run.target),
    status: run.status,
    started_at: run.started_at,
    duration_s: run.duration_s,
    tickets: { ...run.tickets, awaiting_review: awaiting },
    tokens: run.tokens.total,
  };
  if (run.branch !== null) json.branch = run.branch;
  if (run.current_ticket !== null) json.ticket = run.current_ticket.replace(/\.md$/, "");
  if (run.message) {
    const message = run.message;
    json.message = message.length > JSON_MESSAGE_CHARS
      ? `${message.slice(0, JSON_MESSAGE_CHARS - 1)}…`
      : message;
  }
  return json;
}

/**
 * The review queue in a few lines: per target the tickets awaiting review with the commands to
 * review and accept them, the tickets sent back, and how many are accepted.
 */
function reviewLines(queue: QueuedTicket[]): string[] {
  const lines: string[] = [];
  const byTarget = (state: QueuedTicket["state"]) => {
    const map = new Map<string, QueuedTicket[]>();
    for (const t of queue.filter((q) => q.state === state)) {
      map.set(t.target, [...(map.get(t.target) ?? []), t]);
    }
    return map;
  };
  const named = (tickets: QueuedTicket[]) =>
    tickets.slice(0, TICKETS_PER_LINE).map((t) => t.ticket).join(", ") +
    (tickets.length > TICKETS_PER_LINE ? ` and ${tickets.length - TICKETS_PER_LINE} more` : "");
  for (const [target, tickets] of byTarget("awaiting_review")) {
    const path = shellWord(commandPath(target));
    const ids = tickets.map((t) => shellWord(t.ticket)).join(" ");
    lines.push(
      `awaiting review at ${path}: ${named(tickets)}; review: \`cmcs result ${path} ${
        shellWord(tickets[0].ticket)
      }\`, accept: \`cmcs accept ${path} ${ids}\``,
    );
  }
  for (const [target, tickets] of byTarget("sent_back")) {
    lines.push(`sent back at ${shellWord(commandPath(target))}: ${named(tickets)}`);
  }
  const accepted = queue.filter((t) => t.state === "accepted").length;
  if (accepted > 0) lines.push(`accepted: ${accepted} ticket${accepted === 1 ? "" : "s"}`);
  return lines;
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
