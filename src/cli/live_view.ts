/**
 * What `cmcs run` shows while several targets run: in a terminal a compact table redrawn in place
 * (one line per target: state, current ticket and its time, tickets done of total, elapsed), in a
 * pipe or an agent's shell tool plain progress lines prefixed with the target's label.
 */
import type { Progress, ProgressSink } from "../core/runner/progress.ts";
import {
  formatDuration,
  formatTable,
  paint,
  statusColor,
  terminalSafe,
  visibleLength,
} from "./output.ts";
import { progressPrinter } from "./progress_printer.ts";

/** Where a multi-target run's progress goes. */
export interface RunDisplay {
  progress: ProgressSink;
  /** A target waits for a `run.max_parallel` slot. */
  queued(target: string): void;
  /** A line that is not progress (a failed hook, a warning). */
  note(line: string): void;
  /** Stops redrawing and leaves the final state on screen. */
  close(): void;
}

export interface DisplayTarget {
  target: string;
  label: string;
}

/** Plain lines, one per transition, each prefixed with the target's label when there are several. */
export function lineDisplay(
  targets: DisplayTarget[],
  write: (line: string) => void,
): RunDisplay {
  const labels = new Map(targets.map((t) => [t.target, t.label]));
  const labelOf = (target: string) => targets.length > 1 ? labels.get(target) ?? target : null;
  return {
    progress: progressPrinter(write, labelOf),
    queued: (target) => {
      const label = labelOf(target);
      write(`${label ? `${paint("gray", `[${label}]`)} ` : ""}queued (run.max_parallel reached)`);
    },
    note: write,
    close: () => {},
  };
}

interface TargetState {
  label: string;
  state: string;
  runId: number | null;
  ticket: string | null;
  ticketStartedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  done: number;
  failed: number;
  total: number | null;
}

export interface Terminal {
  write(text: string): void;
  /** Width in columns. */
  columns(): number;
}

/** The process's terminal (stdout). */
export function stdoutTerminal(): Terminal {
  const encoder = new TextEncoder();
  return {
    write(text) {
      const bytes = encoder.encode(text);
      let written = 0;
      while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
    },
    columns() {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return 100;
      }
    },
  };
}

/** How often the elapsed times are refreshed. */
const REDRAW_MS = 1000;

/**
 * The live table for a terminal. Every progress event and every second redraw it in place; a
 * note is printed above it. `now` is injectable for tests.
 */
export function liveView(
  targets: DisplayTarget[],
  terminal: Terminal = stdoutTerminal(),
  now: () => number = Date.now,
): RunDisplay & { frame(): string[] } {
  const states = new Map<string, TargetState>();
  for (const t of targets) {
    states.set(t.target, {
      label: t.label,
      state: "waiting",
      runId: null,
      ticket: null,
      ticketStartedAt: null,
      startedAt: null,
      endedAt: null,
      done: 0,
      failed: 0,
      total: null,
    });
  }
  let drawn = 0;
  let closed = false;

  const frame = (): string[] => {
    const t = now();
    const rows = [...states.values()].map((s) => {
      const total = s.total === null ? "?" : String(Math.max(s.total, s.done + s.failed));
      return [
        s.label,
        paint(
          statusColor(s.state === "queued" || s.state === "waiting" ? "skipped" : s.state),
          s.state,
        ),
        s.ticket ?? "-",
        s.ticket && s.ticketStartedAt !== null
          ? formatDuration((t - s.ticketStartedAt) / 1000)
          : "",
        `${s.done}/${total}${s.failed ? ` (${s.failed} failed)` : ""}`,
        s.startedAt === null ? "-" : formatDuration(((s.endedAt ?? t) - s.startedAt) / 1000),
      ];
    });
    const width = terminal.columns();
    const columns = width >= 20 ? width - 1 : 100; // a pseudo-terminal may report 0 columns
    return formatTable(["TARGET", "STATE", "TICKET", "FOR", "DONE", "ELAPSED"], rows)
      .split("\n")
      .map((line) => visibleLength(line) > columns ? _cut(line, columns) : line);
  };

  const draw = () => {
    // Only the cursor moves written here reach the terminal as escapes; labels and ticket names
    // lose theirs.
    const lines = frame().map(terminalSafe);
    const up = drawn > 0 ? `\x1b[${drawn}F` : "";
    terminal.write(up + lines.map((line) => `\x1b[2K${line}\n`).join(""));
    drawn = lines.length;
  };

  const update = (target: string, change: (s: TargetState) => void) => {
    const state = states.get(target);
    if (!state) return;
    change(state);
    if (!closed) draw();
  };

  const timer = setInterval(() => {
    if (!closed) draw();
  }, REDRAW_MS);

  const progress = (p: Progress) => {
    update(p.target, (s) => _apply(s, p, now()));
  };

  draw();
  return {
    progress,
    frame,
    queued: (target) => update(target, (s) => s.state = "queued"),
    note(raw) {
      const line = terminalSafe(raw);
      if (closed) {
        terminal.write(`${line}\n`);
        return;
      }
      terminal.write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[0J` : ""}${line}\n`);
      drawn = 0;
      draw();
    },
    close() {
      if (closed) return;
      clearInterval(timer);
      draw();
      closed = true;
    },
  };
}

function _apply(s: TargetState, p: Progress, t: number): void {
  switch (p.kind) {
    case "run_started":
      s.state = "running";
      s.runId = p.runId;
      s.startedAt = t;
      s.total = p.pending;
      break;
    case "attempt_started":
      if (s.ticket !== p.ticket) s.ticketStartedAt = t;
      s.ticket = p.ticket;
      break;
    case "ticket_finished":
      if (p.outcome === "done") s.done++;
      else s.failed++;
      s.ticket = null;
      s.ticketStartedAt = null;
      break;
    case "run_finished":
      s.state = p.status;
      s.ticket = null;
      s.endedAt = t;
      break;
    default:
      break;
  }
}

/** Cuts a line (which may carry colour codes) to `width` visible characters. */
function _cut(line: string, width: number): string {
  // deno-lint-ignore no-control-regex
  const plain = line.replace(/\x1b\[[0-9;]*m/g, "");
  return plain.slice(0, Math.max(0, width - 1)) + "…";
}
