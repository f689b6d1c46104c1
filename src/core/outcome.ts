/**
 * Why a Codex worker failed, from its exit status, its JSONL stream and the tail of its stderr.
 * The messages matched here are the ones the real CLI prints (../shared/codex/README.md §2, §4):
 * Codex never shows the raw API error codes, so matching is on its wording.
 */

import type { CodexStream } from "./codex_events.ts";
import { stripControl } from "./sanitize.ts";
import type { Outcome } from "./db/types.ts";

export interface FailureInput {
  exitCode: number | null;
  signal: string | null;
  stream: CodexStream;
  stderrTail: string;
  /** The clock for relative reset times ("try again in 2 hours"); now by default. */
  now?: Date;
}

export interface FailureClassification {
  outcome: Outcome;
  /** One line for people and the database: Codex's own words where there are any. */
  message: string;
  /** Worth retrying the same attempt after a pause (5xx, a dropped stream). */
  transient: boolean;
  /** ISO time a usage limit lifts, when Codex said so. */
  resetsAt: string | null;
}

const CONTEXT = /context window|context[_ ]length[_ ]exceeded|maximum context length/i;
const USAGE = /usage limit|quota|rate[ _-]?limit|too many requests|\b429\b(?![./:]\d)/i;
const AUTH =
  /\b40[13]\b(?![./:]\d)|unauthori[sz]ed|forbidden|not logged in|\blog ?in\b|\bsign ?in\b|\bauth(?:entication|orization|enticate|enticated)?\b|api[ _-]?key|access token/i;
const TRANSIENT =
  /high demand|stream disconnected before completion|transport error|network error|connection (?:reset|refused|closed|aborted)|temporarily unavailable|overloaded|internal server error|bad gateway|service unavailable|gateway time-?out|\b5\d\d (?:internal|bad|service|gateway)/i;
/** `unexpected status 401 Unauthorized`, `last status: 429`, `HTTP 500`, `status code 503`. */
const HTTP_STATUS = /\b(?:status|http)(?: code)?[\s:=]*([1-5]\d\d)\b/i;
const MAX_MESSAGE_CHARS = 1000;

/**
 * True for failures that may pass on their own: server errors (5xx, "high demand"), a stream
 * that dropped or went idle, network errors. Codex already retried these internally before
 * giving up, so a retry by cmcs should wait a little first.
 */
export function isTransient(message: string): boolean {
  const status = httpStatus(message);
  return (status !== null && status >= 500) || TRANSIENT.test(message);
}

function httpStatus(text: string): number | null {
  const match = HTTP_STATUS.exec(text);
  return match ? Number(match[1]) : null;
}

/**
 * Classifies a worker that did not end with success (exit code non-zero, killed by a signal, or
 * no `turn.completed`). Order matters: a context-window message wins over anything else in the
 * text; an HTTP 401 URL must not read as a 5xx; exit code 2 is a command-line usage error of
 * Codex (a flag cmcs passed, usually from an outdated `codex.extra_args` or CLI version).
 * Stopping and timeouts are decided by the runner, not here.
 */
export function classifyFailure(input: FailureInput): FailureClassification {
  const streamMessage = input.stream.failureMessage ? oneLine(input.stream.failureMessage) : null;
  const stderr = meaningfulStderr(input.stderrTail);

  if (input.exitCode === 2 && !input.stream.turnFailed) {
    const line = stderr.find((l) => /^error\b/i.test(l)) ?? stderr[0] ?? null;
    const what = line ? `: ${line}` : "";
    return result(
      "worker_failed",
      `Codex rejected a command-line flag cmcs passed (exit 2)${what} — check the Codex CLI version ` +
        "(`codex --version`) and codex.extra_args in .cmcs/config.yml",
    );
  }

  // The stream carries the turn's error; stderr only explains failures before the turn started.
  const text = streamMessage ?? stderr.join("\n");
  const message = streamMessage ?? lastMeaningfulLine(stderr) ?? statusMessage(input);

  const status = httpStatus(text);
  if (CONTEXT.test(text)) return result("context_limit", message);
  if (status === 401 || status === 403) return result("auth", message);
  if (status === 429 || USAGE.test(text)) {
    return result("usage_limit", message, false, parseResetTime(text, input.now ?? new Date()));
  }
  if (AUTH.test(text)) return result("auth", message);
  return result("worker_failed", message, isTransient(text));
}

/**
 * A failed attempt's message as people read it in a run's summary: Codex's own words and, for a
 * usage limit, when it lifts — or plainly that the reset time is unknown (Codex 0.171.0 says only
 * "Try again later."). Never a guessed time.
 */
export function explainFailure(
  outcome: Outcome,
  message: string | null,
  resetsAt: string | null,
): string | null {
  const note = resetNote(outcome, resetsAt);
  if (message === null) return note === "" ? null : note.trim().slice(1, -1);
  return message + note;
}

/**
 * ` (resets at <ISO time>)` or ` (reset time unknown)` for a usage limit, else empty: the part of
 * an explanation that must survive when a long message is cut to fit a line.
 */
export function resetNote(outcome: Outcome, resetsAt: string | null): string {
  if (outcome !== "usage_limit") return "";
  return resetsAt ? ` (resets at ${resetsAt})` : " (reset time unknown)";
}

/**
 * The time a usage limit lifts, from Codex's wording: `try again at 3:05 PM`,
 * `resets at 2026-11-14T15:05:00Z`, `try again at Nov 14th, 2026 3:05 PM`, or
 * `in 2 hours 5 minutes` / `in 1 day`. A bare time of day means its next occurrence (local time).
 * Null when there is none or it cannot be read.
 */
export function parseResetTime(text: string, now: Date = new Date()): string | null {
  const at = /(?:try again|resets?|available again|retry)\s+(?:at|after|on)\s+([^\n]+)/i.exec(text);
  if (at) {
    const parsed = parseAbsolute(at[1], now);
    if (parsed) return parsed.toISOString();
  }
  const within =
    /\bin\s+((?:\d+(?:\.\d+)?\s*(?:d|days?|h|hrs?|hours?|m|mins?|minutes?|s|secs?|seconds?)\b[\s,]*(?:and\s+)?)+)/i
      .exec(text);
  if (within) {
    const units: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1 };
    let seconds = 0;
    for (const part of within[1].matchAll(/(\d+(?:\.\d+)?)\s*([dhms])/gi)) {
      seconds += Number(part[1]) * units[part[2].toLowerCase()];
    }
    if (seconds > 0) return new Date(now.getTime() + seconds * 1000).toISOString();
  }
  return null;
}

function parseAbsolute(raw: string, now: Date): Date | null {
  const text = raw
    .replace(/\s*\(.*$/, "")
    .replace(/[.;]\s.*$/, "")
    .replace(/\.$/, "")
    .replace(/(\d)(st|nd|rd|th)\b/gi, "$1")
    .trim();
  const iso = /\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?/.exec(text);
  if (iso) {
    const date = new Date(iso[0].replace(" ", "T"));
    if (!Number.isNaN(date.getTime())) return date;
  }
  const timeOnly = /^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?(?:\s*(UTC|GMT|Z))?$/i.exec(
    text,
  );
  if (timeOnly) {
    let hours = Number(timeOnly[1]);
    const minutes = Number(timeOnly[2]);
    const seconds = Number(timeOnly[3] ?? 0);
    const meridiem = timeOnly[4]?.[0].toLowerCase();
    if (meridiem === "p" && hours < 12) hours += 12;
    if (meridiem === "a" && hours === 12) hours = 0;
    if (hours > 23 || minutes > 59 || seconds > 59) return null;
    const date = new Date(now);
    if (timeOnly[5]) date.setUTCHours(hours, minutes, seconds, 0);
    else date.setHours(hours, minutes, seconds, 0);
    if (date.getTime() <= now.getTime()) {
      if (timeOnly[5]) date.setUTCDate(date.getUTCDate() + 1);
      else date.setDate(date.getDate() + 1);
    }
    return date;
  }
  // "Nov 14, 2026 3:05 PM" and similar: the JS date parser reads these (as local time).
  const loose = new Date(text.replace(/,?\s+at\s+/i, " "));
  if (!Number.isNaN(loose.getTime()) && /\d/.test(text)) {
    if (!/\b\d{4}\b/.test(text)) loose.setFullYear(now.getFullYear());
    if (loose.getTime() < now.getTime() - 86400_000) return null;
    return loose;
  }
  return null;
}

/** stderr lines that say something: no blank lines, no progress notes, warnings or backtraces. */
function meaningfulStderr(stderrTail: string): string[] {
  const out: string[] = [];
  for (const raw of stripControl(stderrTail).split("\n")) {
    const line = raw.trim();
    if (/^stack backtrace:/i.test(line)) break;
    if (line === "" || NOISE.some((re) => re.test(line))) continue;
    out.push(line);
  }
  return out;
}

const NOISE = [
  /^Reading (?:additional input|prompt) from stdin/i,
  /^warn(?:ing)?\b/i,
  /bubblewrap/i,
  /^\d{4}-\d\d-\d\dT\S+\s+(?:TRACE|DEBUG|INFO|WARN)\b/,
  /failed to record rollout items/i,
  /^tip:/i,
  /^Usage:/,
  /^For more information, try/i,
];

/** The last explicit error line (`Error: …`, `ERROR: …`), else the last line of all. */
function lastMeaningfulLine(lines: string[]): string | null {
  const explicit = lines.filter((line) => /^error\b/i.test(line));
  const line = explicit.at(-1) ?? lines.at(-1);
  return line ? oneLine(line) : null;
}

function statusMessage(input: FailureInput): string {
  if (input.signal) return `codex was killed by ${input.signal}`;
  if (input.exitCode === 0) {
    return "codex exited without completing its turn (no turn.completed event)";
  }
  if (input.exitCode === null) return "codex ended without an exit code";
  return `codex exited with code ${input.exitCode}`;
}

function oneLine(text: string): string {
  const flat = stripControl(text).replace(/\s*\n\s*/g, " ").trim();
  return flat.length <= MAX_MESSAGE_CHARS ? flat : flat.slice(0, MAX_MESSAGE_CHARS - 1) + "…";
}

function result(
  outcome: Outcome,
  message: string,
  transient = false,
  resetsAt: string | null = null,
): FailureClassification {
  return { outcome, message, transient, resetsAt };
}
