import { join } from "../core/path.ts";
import { UsageError, UserError } from "../cli/errors.ts";
import { print, printError, printJsonLine } from "../cli/output.ts";
import { printReport, type Report } from "../cli/report.ts";
import { attemptLogJson, rawLogLines } from "../core/attempt_log.ts";
import { createJsonlRenderer, renderJsonl } from "../core/codex_render.ts";
import { runAttempts } from "../core/db/attempts.ts";
import { getRun } from "../core/db/runs.ts";
import type { AttemptRow, RunRow } from "../core/db/types.ts";
import { recoverOrphans, throttledRecovery } from "../core/recovery.ts";
import { type OpenedTarget, openTarget, resolveRun } from "../core/run_lookup.ts";
import { ATTEMPT_FILES } from "../core/runner/execute_worker.ts";
import { fileSize, readRange, readTail } from "../core/tail.ts";
import { findTicketRef } from "../core/ticket_ref.ts";
import { exists } from "../core/project.ts";

export interface LogsOptions {
  run?: number;
  ticket?: string;
  lines: number;
  follow?: boolean;
  raw?: boolean;
  json?: boolean;
}

/** How much of a log file `logs` reads from its end at most: it never loads a whole large log. */
const TAIL_BYTES = 4 * 1024 * 1024;

/**
 * `cmcs logs [path]`: a readable rendering of an attempt's Codex stream (agent messages, commands
 * with exit codes, file changes, errors) — the last N lines. `--follow` keeps printing as the
 * worker writes, moves on to the next attempt of the run, and ends when the run ends.
 */
export async function logs(path: string, opts: LogsOptions): Promise<number> {
  if (opts.follow && opts.json) {
    throw new UsageError(
      "--follow and --json do not go together: --json prints one document",
      "follow with --follow (add --raw for JSONL), or take a snapshot with --json",
    );
  }
  if (!opts.follow) {
    const report = await logsReport(path, opts);
    // With --raw, stdout stays pure JSONL (each line still parseable, its control characters
    // escaped): the header and trailer lines go to stderr.
    if (opts.raw && !opts.json) {
      for (const line of report.errText ?? []) printError(line);
      for (const line of report.text) printJsonLine(line);
      return report.code;
    }
    return printReport(report, opts.json);
  }
  const opened = await openTarget(path);
  try {
    await recoverOrphans(opened.db);
    const run = resolveRun(opened, opts.run);
    await untilFirstAttempt(opened, run);
    return await follow(opened, run, pickAttempt(opened, run, opts.ticket), opts);
  } finally {
    opened.db.close();
  }
}

/**
 * The last `opts.lines` lines of an attempt's log (see {@link logs}), in both forms. With `raw`,
 * the header and trailer are `errText` and `text` is only the JSONL lines.
 */
export async function logsReport(
  path: string,
  opts: Omit<LogsOptions, "follow">,
): Promise<Report<ReturnType<typeof attemptLogJson>>> {
  const opened = await openTarget(path);
  try {
    await recoverOrphans(opened.db);
    const run = resolveRun(opened, opts.run);
    const attempt = pickAttempt(opened, run, opts.ticket);
    const file = join(opened.project.logsDir, attempt.log_dir ?? "", ATTEMPT_FILES.jsonl);
    const text = await readTail(file, TAIL_BYTES);
    const lines = opts.raw ? rawLogLines(text) : renderJsonl(text);
    const shown = lines.slice(-opts.lines);
    const data = attemptLogJson(attempt, file, {
      lines: shown,
      truncated: lines.length > shown.length,
    });
    const notes = [header(attempt)];
    if (text === "" && !exists(file)) {
      notes.push(`-- no log file: ${file} is gone (\`cmcs clean\` removes old logs)`);
    }
    const trailer = attempt.outcome && attempt.outcome !== "done" && attempt.message
      ? [`-- ${attempt.outcome}: ${attempt.message}`]
      : [];
    if (opts.raw) return { code: 0, data, text: shown, errText: [...notes, ...trailer] };
    return { code: 0, data, text: [...notes, ...shown, ...trailer] };
  } finally {
    opened.db.close();
  }
}

/** The log's own lines: JSONL kept parseable with --raw, readable text otherwise. */
function lineWriter(opts: LogsOptions): (line: string) => void {
  return opts.raw ? printJsonLine : print;
}

/** Headers and trailers go to stderr with --raw, so stdout stays pure JSONL. */
function noteWriter(opts: LogsOptions): (line: string) => void {
  return opts.raw ? (line) => printError(line) : (line) => print(line);
}

function header(a: AttemptRow): string {
  const state = a.outcome ?? "running";
  return `== run ${a.run_id} · ${a.ticket} · attempt ${a.number} (${a.kind}) · ${
    a.model ?? "codex default model"
  } · ${state}`;
}

/**
 * One renderer per followed attempt, the dashboard's: a command started before the tail still
 * shows its `$ …` line and a failed turn does not repeat the error just printed.
 */
function streamRenderer(raw: boolean): (text: string) => string[] {
  return raw ? rawLogLines : createJsonlRenderer();
}

function pickAttempt(opened: OpenedTarget, run: RunRow, ticketRef: string | undefined): AttemptRow {
  const attempts = runAttempts(opened.db, run.id);
  if (attempts.length === 0) {
    throw new UserError(`run ${run.id} has no attempts yet (${run.status})`, {
      hint: run.status === "running"
        ? "try again in a moment, or use --follow"
        : "see `cmcs status`",
    });
  }
  if (!ticketRef) return attempts[attempts.length - 1];
  const ids = [...new Set(attempts.map((a) => a.ticket))];
  const id = findTicketRef(ids, ticketRef);
  if (!id) {
    throw new UserError(`run ${run.id} has no attempt for ticket "${ticketRef}"`, {
      hint: `tickets in this run: ${ids.join(", ")}`,
    });
  }
  return attempts.filter((a) => a.ticket === id).at(-1)!;
}

/** `--follow` right after `cmcs run` started: waits while the run has no attempt yet. */
async function untilFirstAttempt(opened: OpenedTarget, run: RunRow): Promise<void> {
  const recover = throttledRecovery(opened.db);
  while (runAttempts(opened.db, run.id).length === 0) {
    await recover();
    if (getRun(opened.db, run.id)?.status !== "running") return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function follow(
  opened: OpenedTarget,
  run: RunRow,
  first: AttemptRow,
  opts: LogsOptions,
): Promise<number> {
  const recover = throttledRecovery(opened.db);
  const note = noteWriter(opts);
  let attempt = first;
  const fileOf = (a: AttemptRow) =>
    join(opened.project.logsDir, a.log_dir ?? "", ATTEMPT_FILES.jsonl);
  let render = streamRenderer(opts.raw ?? false);
  const out = lineWriter(opts);
  const show = (lines: string[]) => {
    for (const line of render(lines.join("\n"))) out(line);
  };
  // The tail up to a known size, so nothing written meanwhile is shown twice or skipped.
  let decoder = new TextDecoder();
  let offset = await fileSize(fileOf(attempt));
  const start = Math.max(0, offset - TAIL_BYTES);
  // A file not written yet (the attempt just started) reads as nothing.
  const initial = offset === 0
    ? [""]
    : decoder.decode(await readRange(fileOf(attempt), start, offset), { stream: true })
      .split("\n");
  if (start > 0) initial.shift();
  let pending = initial.pop() ?? "";
  const initialText = initial.join("\n");
  const shown = render(initialText);
  note(header(attempt));
  for (const line of shown.slice(-opts.lines)) out(line);
  while (true) {
    // The run's state is read before the file is drained: whatever was written before the run
    // moved on (next attempt, end of run) is printed before following it.
    const attempts = runAttempts(opened.db, run.id);
    await recover();
    const current = getRun(opened.db, run.id)!;
    const file = fileOf(attempt);
    const size = await fileSize(file);
    if (size < offset) offset = 0;
    if (size > offset) {
      pending += decoder.decode(await readRange(file, offset, size), { stream: true });
      offset = size;
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      show(parts);
    }
    const newer = attempts.find((a) => a.id > attempt.id);
    if (newer) {
      show([pending]);
      attempt = newer;
      offset = 0;
      pending = "";
      decoder = new TextDecoder();
      render = streamRenderer(opts.raw ?? false);
      note(header(attempt));
      continue;
    }
    if (current.status !== "running") {
      show([pending]);
      const last = runAttempts(opened.db, run.id).at(-1);
      if (last?.outcome && last.outcome !== "done" && last.message) {
        note(`-- ${last.outcome}: ${last.message}`);
      }
      note(`== run ${run.id} ${current.status}${current.message ? `: ${current.message}` : ""}`);
      return 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
