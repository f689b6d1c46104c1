/**
 * Parsing one ticket file: strict, so that a ticket that would be misread (a wrong type, a typo in
 * `done`, a broken YAML block) is reported with its line and never dispatched.
 */
import { basename } from "./path.ts";
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { decodeUtf8, splitFrontMatter, stripBom } from "./ticket_front_matter.ts";

export const REASONING_EFFORTS = ["low", "medium", "high", "xhigh"] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

export interface Ticket {
  /** File name, e.g. `TICKET-001.md`. */
  file: string;
  /** File name without `.md`, e.g. `TICKET-001`. */
  id: string;
  /** Absolute path. */
  path: string;
  /** `""` when missing or null. */
  title: string;
  /** Default `codex`. */
  agent: string;
  model: string | null;
  reasoning_effort: ReasoningEffort | null;
  done: boolean;
  timeout_s: number | null;
  auto_commit: boolean | null;
  /** The whole front matter as parsed, unknown fields included (a ticket may carry notes). */
  fields: Record<string, unknown>;
  /** Text after the closing `---` line. */
  body: string;
  /** The whole file text, BOM stripped. */
  raw: string;
}

export interface TicketProblem {
  file: string;
  path: string;
  /** 1-based line in the file, or null when the problem is not about a line (e.g. a directory). */
  line: number | null;
  message: string;
}

export type TicketEntry =
  | { ok: true; ticket: Ticket }
  | {
    ok: false;
    file: string;
    id: string;
    path: string;
    problems: TicketProblem[];
    /** The file's text when it could be read (invalid UTF-8 decoded leniently), for progress. */
    raw?: string;
  };

/**
 * The first problem of a malformed ticket as one line, `FILE:LINE: message` (`FILE: message` when
 * the problem is not about a line): what a run or a resume reports when it refuses the ticket.
 */
export function ticketProblemLine(entry: Extract<TicketEntry, { ok: false }>): string {
  const p = entry.problems[0];
  return `${entry.file}${p?.line ? `:${p.line}` : ""}: ${p?.message ?? "malformed ticket"}`;
}

/** The id of a ticket file: its name without the `.md` extension. */
export function ticketId(file: string): string {
  return file.replace(/\.md$/, "");
}

/**
 * Parses a ticket file's bytes. The front matter is YAML 1.2 (core schema), so unquoted dates
 * stay text and `on`/`off` are strings, not booleans. Fields:
 * - `title`: text; missing or `null` gives `""`; a number or list is a problem (quote it).
 * - `agent`: text, default `codex`; empty is a problem.
 * - `model`: text or missing; empty text is a problem (it would override the config with nothing).
 * - `reasoning_effort`: `low`, `medium`, `high` or `xhigh` (case-insensitive, stored lower case).
 * - `done`: a boolean, or the strings `true/false/yes/no` (case-insensitive, trimmed); missing or
 *   `null` is false. Anything else — `on`, `off`, `1`, a list — is a problem rather than a silent
 *   false, because a worker that wrote `done: on` meant "done".
 * - `timeout_s`: a positive number of seconds; `auto_commit`: a boolean (`"false"` in quotes is a
 *   problem, not "on").
 * Unknown fields are kept in `fields`. Problems carry 1-based file lines: the offending key's line
 * for a field, the YAML error's line, or the opening `---` for an unclosed block.
 */
export function parseTicket(path: string, bytes: Uint8Array): TicketEntry {
  const file = basename(path);
  const id = ticketId(file);
  const problem = (line: number | null, message: string): TicketProblem => ({
    file,
    path,
    line,
    message,
  });
  const fail = (problems: TicketProblem[], raw?: string): TicketEntry => ({
    ok: false,
    file,
    id,
    path,
    problems,
    raw,
  });

  const content = stripBom(bytes).bytes;
  const decoded = decodeUtf8(content);
  if (!decoded.ok) {
    return fail(
      [problem(
        decoded.line,
        `invalid UTF-8 at byte offset ${decoded.offset + (bytes.length - content.length)}: ` +
          "save the file as UTF-8",
      )],
      new TextDecoder().decode(content),
    );
  }
  const raw = decoded.text;
  const split = splitFrontMatter(raw);
  if (split.kind === "none") {
    return fail([
      problem(
        split.line,
        "no front matter: the file must start with a `---` line, fields such as `title: …`, " +
          "then a closing `---` line",
      ),
    ], raw);
  }
  if (split.kind === "unclosed") {
    return fail([
      problem(
        split.openLine,
        "front matter opened here is never closed: add a line `---` after the last field",
      ),
    ], raw);
  }

  const block = raw.slice(split.blockStart, split.blockEnd);
  const lineCounter = new LineCounter();
  const doc = parseDocument(block, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const lineOf = (offset: number) => split.openLine + lineCounter.linePos(offset).line;
  if (doc.errors.length > 0) {
    return fail(
      doc.errors.map((error) => {
        const line = error.linePos?.[0]?.line;
        const what = error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
        // An error found at the end of the block (an unclosed `[`) points at the last field line.
        const lastLine = Math.max(split.openLine + 1, split.closeLine - 1);
        return problem(
          line === undefined ? split.openLine : Math.min(split.openLine + line, lastLine),
          `invalid YAML in the front matter: ${what}; fix this line (quote values containing ": " or "#")`,
        );
      }),
      raw,
    );
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    const kind = isScalar(doc.contents) ? "a single value" : "a list";
    const start = doc.contents.range?.[0] ?? 0;
    return fail([
      problem(
        lineOf(start),
        `front matter must be \`key: value\` fields (a mapping), found ${kind}: ` +
          "write e.g. `title: …` and `done: false` on their own lines",
      ),
    ], raw);
  }

  let fields: Record<string, unknown>;
  try {
    fields = (doc.toJS() ?? {}) as Record<string, unknown>;
  } catch (error) {
    return fail([
      problem(split.openLine + 1, `front matter cannot be read: ${(error as Error).message}`),
    ], raw);
  }
  const keyLine = new Map<string, number>();
  if (isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      if (isScalar(pair.key) && typeof pair.key.value === "string" && pair.key.range) {
        keyLine.set(pair.key.value, lineOf(pair.key.range[0]));
      }
    }
  }
  const problems: TicketProblem[] = [];
  const report = (key: string, message: string) =>
    problems.push(problem(keyLine.get(key) ?? split.openLine, message));

  const title = _text(fields.title);
  if (title === undefined) {
    report(
      "title",
      `title must be text, got ${_describe(fields.title)}: quote it, e.g. title: "…"`,
    );
  }
  const agent = _text(fields.agent);
  if (agent === undefined) {
    report("agent", `agent must be text such as codex, got ${_describe(fields.agent)}`);
  } else if (agent === "" && fields.agent !== null && fields.agent !== undefined) {
    report("agent", "agent is empty: write `agent: codex` or remove the line");
  }
  const model = _text(fields.model);
  if (model === undefined) {
    report(
      "model",
      `model must be text, got ${_describe(fields.model)}: quote it, e.g. model: "gpt-5.5"`,
    );
  } else if (model === "" && typeof fields.model === "string") {
    report("model", "model is empty: name a model or remove the line to use the configured one");
  }
  const effort = _effort(fields.reasoning_effort);
  if (effort === undefined) {
    report(
      "reasoning_effort",
      `reasoning_effort must be one of ${REASONING_EFFORTS.join(", ")}, got ` +
        _describe(fields.reasoning_effort),
    );
  }
  const done = _done(fields.done);
  if (done === undefined) {
    report(
      "done",
      `done must be true or false (yes/no are accepted too), got ${_describe(fields.done)}`,
    );
  }
  const timeout = fields.timeout_s;
  const timeoutOk = timeout === undefined || timeout === null ||
    (typeof timeout === "number" && Number.isFinite(timeout) && timeout > 0);
  if (!timeoutOk) {
    report(
      "timeout_s",
      `timeout_s must be a positive number of seconds, got ${_describe(timeout)}`,
    );
  }
  const autoCommit = fields.auto_commit;
  const autoCommitOk = autoCommit === undefined || autoCommit === null ||
    typeof autoCommit === "boolean";
  if (!autoCommitOk) {
    report(
      "auto_commit",
      `auto_commit must be true or false without quotes, got ${_describe(autoCommit)}`,
    );
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  if (problems.length > 0) return fail(problems, raw);

  return {
    ok: true,
    ticket: {
      file,
      id,
      path,
      title: title ?? "",
      agent: agent || "codex",
      model: model || null,
      reasoning_effort: effort ?? null,
      done: done ?? false,
      timeout_s: typeof timeout === "number" ? timeout : null,
      auto_commit: typeof autoCommit === "boolean" ? autoCommit : null,
      fields,
      body: raw.slice(split.bodyStart),
      raw,
    },
  };
}

/** Trimmed text; `""` for missing/null; undefined when the value is not text. */
function _text(value: unknown): string | undefined {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value.trim() : undefined;
}

function _effort(value: unknown): ReasoningEffort | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") return undefined;
  const normalized = value.trim().toLowerCase();
  return (REASONING_EFFORTS as readonly string[]).includes(normalized)
    ? normalized as ReasoningEffort
    : undefined;
}

function _done(value: unknown): boolean | undefined {
  if (value === undefined || value === null) return false;
  if (typeof value === "boolean") return value;
  if (typeof value !== "string") return undefined;
  const normalized = value.trim().toLowerCase();
  if (normalized === "true" || normalized === "yes") return true;
  if (normalized === "false" || normalized === "no") return false;
  return undefined;
}

/** A short description of a YAML value for a problem message: `"on"`, `a number (5)`, `a list`. */
function _describe(value: unknown): string {
  if (typeof value === "string") {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `"${shown}"`;
  }
  if (typeof value === "number") return `a number (${value})`;
  if (typeof value === "boolean") return `a boolean (${value})`;
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a date";
  if (value === null || value === undefined) return "nothing";
  return "a mapping";
}
