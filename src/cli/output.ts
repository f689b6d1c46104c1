/**
 * Terminal output helpers: colour only on a TTY without NO_COLOR, tables aligned on the visible
 * width of each cell (ANSI codes do not count), and JSON as one document.
 *
 * Every command prints through {@link print}, {@link printError} or {@link printJson}, never
 * `console.log` directly, so no command can forget that much of what it prints came from outside
 * cmcs (Codex's messages, ticket titles, file names) and may carry terminal escapes: those are
 * removed here, once, for all output (see src/core/sanitize.ts).
 */
import { escapeJsonControls, stripControl } from "../core/sanitize.ts";

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

const COLORS = {
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  magenta: "35",
  cyan: "36",
  gray: "90",
  bold: "1",
} as const;

export type Color = keyof typeof COLORS;

let colorOverride: boolean | undefined;

/** Forces colour on or off (tests, `--no-color`); `undefined` restores detection. */
export function setColor(enabled: boolean | undefined): void {
  colorOverride = enabled;
}

/** True when stdout is a terminal and neither NO_COLOR nor a non-TTY says otherwise. */
export function colorEnabled(): boolean {
  if (colorOverride !== undefined) return colorOverride;
  if (Deno.env.get("NO_COLOR")) return false;
  if (Deno.env.get("FORCE_COLOR")) return true;
  return Deno.stdout.isTerminal();
}

/** Wraps `text` in an ANSI colour when colour is enabled; returns it unchanged otherwise. */
export function paint(color: Color, text: string): string {
  if (!colorEnabled()) return text;
  return `\x1b[${COLORS[color]}m${text}\x1b[0m`;
}

/** The colour conventionally used for a run status or attempt outcome. */
export function statusColor(status: string): Color {
  switch (status) {
    case "running":
      return "cyan";
    case "completed":
    case "done":
      return "green";
    case "stopped":
    case "interrupted":
    case "not_marked_done":
    case "skipped":
      return "yellow";
    default:
      return "red";
  }
}

/**
 * Length of `text` as it appears on screen: colour codes and whatever {@link terminalSafe} will
 * remove (a title's escapes) do not count, so columns stay aligned.
 */
export function visibleLength(text: string): number {
  return stripControl(text.replace(ANSI, "")).length;
}

/**
 * Formats rows as aligned columns separated by two spaces. The last column is not padded, so
 * long paths do not leave trailing blanks. Cells may contain colour codes.
 */
export function formatTable(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, col) =>
    Math.max(...all.map((row) => visibleLength(row[col] ?? "")))
  );
  return all
    .map((row) =>
      row
        .map((cell, col) => {
          const value = cell ?? "";
          if (col === row.length - 1) return value;
          return value + " ".repeat(widths[col] - visibleLength(value));
        })
        .join("  ")
        .trimEnd()
    )
    .join("\n");
}

// The colour codes paint() writes, and only those: with colour on they are kept, anything else
// that looks like an escape is removed. Text from outside can at worst recolour, never hide text,
// move the cursor, retitle the window or write the clipboard.
const PAINT_CODE = new RegExp(`(\x1b\\[(?:0|${Object.values(COLORS).join("|")})m)`);

/**
 * `text` made safe for the terminal: escape sequences and control characters (except newline and
 * tab) removed; with colour on, the colour codes of {@link paint} are kept.
 */
export function terminalSafe(text: string): string {
  if (!colorEnabled()) return stripControl(text);
  return text.split(PAINT_CODE).map((part, i) => i % 2 === 1 ? part : stripControl(part)).join(
    "",
  );
}

/** Prints `text` and a newline to stdout, made {@link terminalSafe}. */
export function print(text = ""): void {
  console.log(terminalSafe(text));
}

/** Prints `text` and a newline to stderr, made {@link terminalSafe}. */
export function printError(text = ""): void {
  console.error(terminalSafe(text));
}

/**
 * Prints one line of JSONL as it was written (`cmcs logs --raw`), except that characters a
 * terminal could act on become `\u` escapes: the line still parses to exactly the same value.
 * A line that is not JSON loses its control characters instead.
 */
export function printJsonLine(line: string): void {
  console.log(stripControl(escapeJsonControls(line)));
}

let prettyJson: boolean | undefined;

/** `--pretty` forces indented JSON; `undefined` restores the default (indented on a terminal). */
export function setPrettyJson(pretty: boolean | undefined): void {
  prettyJson = pretty;
}

/**
 * Prints one JSON document to stdout: on one line when stdout is not a terminal (an agent or a
 * pipe reads it, and every indent is characters in its context), 2-space indented on a terminal
 * or with `--pretty`. Strings keep their exact text — control characters come out as `\u`
 * escapes, never raw — so a reader's terminal cannot act on them.
 */
export function printJson(value: unknown): void {
  const pretty = prettyJson ?? Deno.stdout.isTerminal();
  console.log(escapeJsonControls(pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)));
}

/** Human duration: `0.4s`, `12s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "-";
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** Compact token count: `950`, `12.3k`, `4.1M`. */
export function formatTokens(tokens: number | null | undefined): string {
  if (!tokens) return "-";
  if (tokens < 1000) return String(tokens);
  if (tokens < 1_000_000) return `${(tokens / 1000).toFixed(1)}k`;
  return `${(tokens / 1_000_000).toFixed(1)}M`;
}
