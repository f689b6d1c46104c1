/**
 * The `codex exec --json` event stream (facts: ../shared/codex/README.md §3): one JSON object per
 * line, discriminated by `type`. The runner feeds it line by line while the worker runs and reads
 * the thread id, token usage, final answer and failure text from here.
 */

import type { TokenUsage } from "./db/types.ts";

/** One item of a turn (`agent_message`, `command_execution`, `file_change`, `error`, …). */
export interface CodexItem {
  id: string;
  type: string;
  [k: string]: unknown;
}

/** One line of the stream. Unknown types are kept as they are (for rendering) but carry no state. */
export type CodexEvent = { type: string; [k: string]: unknown };

/** Parses one JSONL line into an event, or null when it is not a JSON object with a string `type`. */
export function parseEventLine(line: string): CodexEvent | null {
  const text = line.trim();
  if (text === "") return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(value) || typeof value.type !== "string") return null;
  return value as CodexEvent;
}

/** The `item` of an `item.*` event when it has the documented shape (string `id` and `type`). */
export function eventItem(event: CodexEvent): CodexItem | null {
  const item = event.item;
  if (!isRecord(item) || typeof item.id !== "string" || typeof item.type !== "string") return null;
  return item as CodexItem;
}

/**
 * The state of one worker's stream, updated by {@link CodexStream.push} for each line.
 *
 * Follows the README's parsing recipe: usage is the sum of every `turn.completed` (a resumed
 * thread may report several), the final message is the last completed `agent_message`, the failure
 * text is `turn.failed.error.message` (else the last top-level `error`), and `item.type: "error"`
 * items are warnings, never failures. A stream that stops without `turn.completed` or
 * `turn.failed` means the worker was interrupted or killed.
 */
export class CodexStream {
  threadId: string | null = null;
  usage: TokenUsage | null = null;
  finalMessage: string | null = null;
  turnCompleted = false;
  turnFailed = false;
  /** Messages of non-fatal `error` items (e.g. unknown model metadata), in order. */
  warnings: string[] = [];
  /** Non-blank lines seen, including bad ones. */
  lines = 0;
  /** Non-blank lines that were not a JSON object with a string `type`. */
  badLines = 0;

  #turnFailedMessage: string | null = null;
  #lastErrorMessage: string | null = null;
  #open = new Map<string, CodexItem>();

  /** `turn.failed.error.message`, else the last top-level `error` event's message. */
  get failureMessage(): string | null {
    return this.#turnFailedMessage ?? this.#lastErrorMessage;
  }

  /**
   * Parses one line and updates the state. Returns the event (known or not) for rendering, or null
   * for a blank line or one that is not a JSON object (counted in {@link badLines}). Never throws.
   */
  push(line: string): CodexEvent | null {
    if (line.trim() === "") return null;
    this.lines++;
    const event = parseEventLine(line);
    if (!event) {
      this.badLines++;
      return null;
    }
    this.#apply(event);
    return event;
  }

  /** `command_execution` items that started but have not completed (running when the stream stopped). */
  openCommands(): CodexItem[] {
    return [...this.#open.values()].filter((item) => item.type === "command_execution");
  }

  #apply(event: CodexEvent): void {
    switch (event.type) {
      case "thread.started":
        if (typeof event.thread_id === "string") this.threadId = event.thread_id;
        break;
      case "turn.started":
        this.turnCompleted = false;
        this.turnFailed = false;
        break;
      case "item.started":
      case "item.updated": {
        const item = eventItem(event);
        if (item) this.#open.set(item.id, item);
        break;
      }
      case "item.completed": {
        const item = eventItem(event);
        if (!item) break;
        this.#open.delete(item.id);
        if (item.type === "agent_message" && typeof item.text === "string") {
          this.finalMessage = item.text;
        } else if (item.type === "error") {
          const message = messageOf(item);
          if (message) this.warnings.push(message);
        }
        break;
      }
      case "turn.completed":
        this.turnCompleted = true;
        this.turnFailed = false;
        this.usage = addUsage(this.usage, event.usage);
        break;
      case "turn.failed": {
        this.turnFailed = true;
        this.turnCompleted = false;
        const message = isRecord(event.error) ? messageOf(event.error) : null;
        if (message) this.#turnFailedMessage = message;
        break;
      }
      case "error": {
        const message = messageOf(event);
        if (message) this.#lastErrorMessage = message;
        break;
      }
    }
  }
}

function addUsage(total: TokenUsage | null, raw: unknown): TokenUsage | null {
  if (!isRecord(raw)) return total;
  const base = total ?? {
    input_tokens: 0,
    cached_input_tokens: 0,
    output_tokens: 0,
    reasoning_output_tokens: 0,
  };
  return {
    input_tokens: base.input_tokens + count(raw.input_tokens),
    cached_input_tokens: base.cached_input_tokens + count(raw.cached_input_tokens),
    output_tokens: base.output_tokens + count(raw.output_tokens),
    reasoning_output_tokens: base.reasoning_output_tokens + count(raw.reasoning_output_tokens),
  };
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
}

function messageOf(record: Record<string, unknown>): string | null {
  return typeof record.message === "string" && record.message.trim() !== "" ? record.message : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
