/**
 * Human-readable lines from the Codex event stream, for `cmcs logs` and the dashboard. Every
 * string that came from the worker is cleaned of terminal escapes and control characters first:
 * a log must never be able to move the cursor, recolour or retitle the reader's terminal.
 */

import { type CodexEvent, eventItem, parseEventLine } from "./codex_events.ts";
import { stripControl } from "./sanitize.ts";

export { stripControl };

/** Output lines of a finished command shown under its exit line. */
const OUTPUT_TAIL_LINES = 5;
const REASONING_MAX_CHARS = 160;
const COMMAND_MAX_CHARS = 300;
const OUTPUT_LINE_MAX_CHARS = 200;

/**
 * The lines one event contributes to a log; unknown event and item types give none.
 *
 * `item.started` gives a line only for commands (`$ …`); the other items are shown once, when
 * they complete. Without earlier context a completed command shows only its exit line — use
 * {@link createRenderer} or {@link renderJsonl} to also get the command for a start that was missed.
 */
export function renderEvent(event: CodexEvent): string[] {
  switch (event.type) {
    case "thread.started":
      return typeof event.thread_id === "string" ? [`thread ${clean(event.thread_id)}`] : [];
    case "item.started": {
      const item = eventItem(event);
      return item?.type === "command_execution" ? [commandLine(item.command)] : [];
    }
    case "item.completed":
      return renderCompletedItem(event);
    case "error":
      return [`error: ${textOf(event.message) || "(no message)"}`];
    case "turn.completed":
      return [`turn completed: ${formatUsage(event.usage)}`];
    case "turn.failed": {
      const error = event.error as Record<string, unknown> | undefined;
      const message = typeof error === "object" && error ? textOf(error.message) : "";
      return [message ? `turn failed: ${message}` : "turn failed"];
    }
    default:
      return [];
  }
}

/**
 * A stateful {@link renderEvent} for one stream read in order: a completed command whose start
 * was not seen gets its `$ …` line, and `turn.failed` repeating the `error` just before it shows
 * as a bare `turn failed`.
 */
export function createRenderer(): (event: CodexEvent) => string[] {
  const startedCommands = new Set<string>();
  let lastError: string | null = null;
  return (event) => {
    const item = event.type.startsWith("item.") ? eventItem(event) : null;
    if (item?.type === "command_execution") {
      if (event.type === "item.started") {
        if (startedCommands.has(item.id)) return [];
        startedCommands.add(item.id);
      } else if (event.type === "item.completed" && !startedCommands.has(item.id)) {
        startedCommands.add(item.id);
        return [commandLine(item.command), ...renderEvent(event)];
      }
    }
    if (event.type === "error") lastError = textOf(event.message);
    if (event.type === "turn.failed") {
      const error = event.error as Record<string, unknown> | undefined;
      const message = typeof error === "object" && error ? textOf(error.message) : "";
      const duplicate = message !== "" && message === lastError;
      lastError = null;
      if (duplicate) return ["turn failed"];
    }
    return renderEvent(event);
  };
}

/**
 * A stateful renderer for the text of one `codex.jsonl` fed in order, a chunk of complete lines at
 * a time (a follower's reads): state carries across chunks, so a command started in an earlier
 * chunk does not get a second `$ …` line. Lines that are not events are skipped.
 */
export function createJsonlRenderer(): (text: string) => string[] {
  const render = createRenderer();
  return (text) => {
    const out: string[] = [];
    for (const line of text.split("\n")) {
      const event = parseEventLine(line);
      if (event) out.push(...render(event));
    }
    return out;
  };
}

/**
 * Renders a whole JSONL file (an attempt's `codex.jsonl`). Lines that are not events are skipped.
 * `maxLines` keeps only the last N rendered lines.
 */
export function renderJsonl(text: string, opts: { maxLines?: number } = {}): string[] {
  const out = createJsonlRenderer()(text);
  const max = opts.maxLines;
  return max !== undefined && max >= 0 && out.length > max ? out.slice(out.length - max) : out;
}

/**
 * Token counts the way people read them: `10.5k in (0 cached), 74 out`, plus reasoning tokens
 * when there were any.
 */
export function formatUsage(raw: unknown): string {
  const usage = typeof raw === "object" && raw !== null ? raw as Record<string, unknown> : {};
  const n = (key: string) => {
    const value = usage[key];
    return typeof value === "number" && Number.isFinite(value) ? value : 0;
  };
  let text =
    `${formatCount(n("input_tokens"))} in (${formatCount(n("cached_input_tokens"))} cached), ` +
    `${formatCount(n("output_tokens"))} out`;
  if (n("reasoning_output_tokens") > 0) {
    text += ` (${formatCount(n("reasoning_output_tokens"))} reasoning)`;
  }
  return text;
}

/** 74 → `74`, 10544 → `10.5k`, 2000 → `2k`, 1234567 → `1.2M`. */
export function formatCount(value: number): string {
  if (value < 1000) return String(Math.round(value));
  if (value < 999_950) return `${trimZero((value / 1000).toFixed(1))}k`;
  return `${trimZero((value / 1_000_000).toFixed(1))}M`;
}

/**
 * The command as a person would type it: `/bin/bash -lc 'ls -la'` → `ls -la` when the script
 * is one shell word (quoted pieces and plain characters, as Codex writes it); otherwise the command
 * as Codex ran it. A multi-line script shows its first line and how many more there are.
 */
export function displayCommand(command: unknown): string {
  let text = clean(Array.isArray(command) ? command.map(String).join(" ") : textOf(command));
  const wrapper = /^(?:\/usr)?(?:\/bin\/)?(?:ba|z)?sh\s+-l?c\s+/.exec(text.trim());
  if (wrapper) {
    const script = shellWord(text.trim().slice(wrapper[0].length));
    if (script !== null) text = script;
  }
  const lines = text.trim().split("\n");
  let shown = lines[0];
  if (lines.length > 1) shown += ` … (+${lines.length - 1} more lines)`;
  return truncate(shown, COMMAND_MAX_CHARS);
}

/**
 * The value of `text` read as exactly one POSIX shell word made of '…', "…" and plain pieces, or
 * null when it is more than one word or needs expansion (`$`, backquotes, unquoted operators).
 */
function shellWord(text: string): string | null {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return null;
      out += text.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "$" || text[i] === "`") return null;
        if (text[i] === "\\" && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1])) i++;
        out += text[i++];
      }
      if (i >= text.length) return null;
      i++;
    } else if (c === "\\" && i + 1 < text.length) {
      out += text[i + 1];
      i += 2;
    } else if (/[\s;&|<>()$`*?[\]{}~#]/.test(c)) {
      return null;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function commandLine(command: unknown): string {
  return `$ ${displayCommand(command)}`;
}

function renderCompletedItem(event: CodexEvent): string[] {
  const item = eventItem(event);
  if (!item) return [];
  switch (item.type) {
    case "agent_message":
      return prefixLines("codex: ", textOf(item.text));
    case "reasoning": {
      const text = textOf(item.text).replace(/\s+/g, " ").trim();
      return text ? [`thinking: ${truncate(text, REASONING_MAX_CHARS)}`] : [];
    }
    case "command_execution":
      return renderCommandResult(item);
    case "file_change":
      return renderFileChanges(item);
    case "error":
      return [`warning: ${textOf(item.message) || "(no message)"}`];
    case "mcp_tool_call": {
      const name = [item.server, item.tool].filter((part) => typeof part === "string").join(".");
      const status = item.status === "failed" ? " (failed)" : "";
      return [`tool ${clean(name) || "(unknown)"}${status}`];
    }
    case "web_search":
      return [`search: ${truncate(textOf(item.query), REASONING_MAX_CHARS)}`];
    case "todo_list":
      return renderTodo(item.items);
    default:
      return [];
  }
}

function renderCommandResult(item: Record<string, unknown>): string[] {
  const output = textOf(item.aggregated_output).replace(/\n+$/, "");
  const outputLines = output === "" ? [] : output.split("\n");
  const amount = outputLines.length === 0
    ? "no output"
    : `${outputLines.length} line${outputLines.length === 1 ? "" : "s"} of output`;
  const code = item.exit_code;
  const head = typeof code === "number"
    ? `  exit ${code} (${amount})`
    : `  ended ${
      typeof item.status === "string" ? clean(item.status) : "without exit code"
    } (${amount})`;
  const tail = outputLines.slice(-OUTPUT_TAIL_LINES).map((line) =>
    `    ${truncate(line, OUTPUT_LINE_MAX_CHARS)}`
  );
  if (outputLines.length > OUTPUT_TAIL_LINES) tail.unshift("    …");
  return [head, ...tail];
}

function renderFileChanges(item: Record<string, unknown>): string[] {
  const changes = Array.isArray(item.changes) ? item.changes : [];
  const failed = item.status === "failed" ? " (failed)" : "";
  const verbs: Record<string, string> = { add: "added", update: "edited", delete: "deleted" };
  return changes
    .filter((change): change is Record<string, unknown> => typeof change === "object" && change)
    .map((change) => {
      const verb = verbs[String(change.kind)] ?? "changed";
      return `${verb} ${textOf(change.path) || "(unknown path)"}${failed}`;
    });
}

function renderTodo(items: unknown): string[] {
  if (!Array.isArray(items)) return [];
  return items
    .filter((entry): entry is Record<string, unknown> => typeof entry === "object" && entry)
    .map((entry) => `todo: [${entry.completed === true ? "x" : " "}] ${textOf(entry.text)}`);
}

function prefixLines(prefix: string, text: string): string[] {
  const lines = text.replace(/\s+$/, "").split("\n").map((line) => line.trimEnd());
  if (lines.length === 1 && lines[0] === "") return [];
  const indent = " ".repeat(prefix.length);
  return lines.map((line, i) => i === 0 ? prefix + line : line === "" ? "" : indent + line);
}

function textOf(value: unknown): string {
  return typeof value === "string" ? clean(value) : "";
}

function clean(text: string): string {
  return stripControl(text);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + "…";
}

function trimZero(text: string): string {
  return text.replace(/\.0$/, "");
}
