import type { FileChange } from "../core/db/types.ts";
import { explainFailure, resetNote } from "../core/outcome.ts";
import type { ResultPacket, TokenTotals } from "../core/review/result_packet.ts";
import { formatDuration, formatTable, formatTokens, paint, statusColor } from "./output.ts";

/** The text packet aims at this many lines, however many files or message lines there are. */
export const RESULT_MAX_LINES = 32;
const MAX_FILES = 15;
const MIN_FILES = 5;
const MAX_MESSAGE_LINES = 12;
const MIN_MESSAGE_LINES = 4;
const MAX_ATTEMPT_ROWS = 4;
const MAX_WARNINGS = 3;
const MAX_LINE_CHARS = 160;

/**
 * The review packet as about 30 lines of text: what happened, what it cost, which files changed
 * (the biggest changes when there are many, then a count of the rest), the worker's final message
 * (its first lines) and the commands to dig further. Long lines are cut; nothing grows with the
 * size of the change.
 */
export function renderResultPacket(p: ResultPacket): string[] {
  const head: string[] = [];
  const title = p.title ? ` "${cut(p.title, 80)}"` : "";
  const outcome = p.outcome ?? "running";
  head.push(`${paint("bold", p.ticket)}${title}: ${paint(statusColor(outcome), outcome)}`);
  if (p.outcome !== null && p.outcome !== "done") {
    const note = resetNote(p.outcome, p.resets_at);
    const message = p.message === null
      ? null
      : cut(oneLine(p.message), MAX_LINE_CHARS - note.length);
    const why = explainFailure(p.outcome, message, p.resets_at);
    if (why) head.push(`why       ${why}`);
  }
  if (p.review !== null) head.push(`review    ${reviewLine(p)}`);
  const model = `model ${p.model ?? "codex default"}${
    p.reasoning_effort ? `, effort ${p.reasoning_effort}` : ""
  }`;
  const count = `${p.attempts.length} attempt${p.attempts.length === 1 ? "" : "s"}`;
  head.push(
    `run       ${p.run.id} (${p.run.status ?? "gone"}) · ${count} · ${
      formatDuration(p.duration_s)
    } · ${model}`,
  );
  head.push(
    `tokens    ${tokenLine(p.tokens)} · run ${p.run.id}: ${formatTokens(p.run.tokens.total)}`,
  );
  if (p.attempts.length > 1) head.push(...attemptLines(p));
  head.push(filesHeader(p));

  const messageLines = p.final_message === null
    ? []
    : p.final_message.replace(/\s+$/, "").split("\n").map((l) => cut(l.replace(/\s+$/, "")));
  const warnings = p.warnings.slice(0, MAX_WARNINGS).map((w) => `warning   ${cut(oneLine(w))}`);
  if (p.warnings.length > MAX_WARNINGS) {
    warnings.push(`          … ${p.warnings.length - MAX_WARNINGS} more warnings (see --json)`);
  }
  const next = [p.commands.diff, p.commands.logs, p.commands.resume, p.commands.accept]
    .filter((c) => c !== null)
    .map((c, i) => `${i === 0 ? "next      " : "          "}${c}`);

  // Share what is left of the line budget between the file list and the final message.
  const fixed = head.length + 1 + warnings.length + next.length;
  let fileRows = Math.min(p.files_changed.length, MAX_FILES);
  let messageRows = Math.min(messageLines.length, MAX_MESSAGE_LINES);
  const total = () =>
    fixed + fileRows + (fileRows < p.files_changed.length ? 1 : 0) + messageRows +
    (messageRows < messageLines.length ? 1 : 0);
  while (total() > RESULT_MAX_LINES) {
    const canFiles = fileRows > MIN_FILES;
    const canMessage = messageRows > MIN_MESSAGE_LINES;
    if (!canFiles && !canMessage) break;
    if (canFiles && (!canMessage || fileRows >= messageRows)) fileRows--;
    else messageRows--;
  }

  const lines = [...head, ...fileLines(p.files_changed, fileRows)];
  if (messageLines.length === 0) lines.push("final message: (none)");
  else {
    lines.push("final message:");
    lines.push(...messageLines.slice(0, messageRows).map((l) => `  ${l}`));
    if (messageRows < messageLines.length) {
      const where = p.final_message_file ? ` (full text: ${p.final_message_file})` : "";
      lines.push(`  … ${messageLines.length - messageRows} more lines${where}`);
    }
  }
  lines.push(...warnings, ...next);
  return lines;
}

function reviewLine(p: ResultPacket): string {
  switch (p.review) {
    case "awaiting_review":
      return "awaiting review";
    case "accepted":
      return `accepted ${p.accepted_at ?? ""}`.trimEnd();
    default:
      return "sent back (a new attempt has not ended done yet)";
  }
}

function attemptLines(p: ResultPacket): string[] {
  const shown = p.attempts.slice(-MAX_ATTEMPT_ROWS);
  const skipped = p.attempts.length - shown.length;
  const table = formatTable(
    ["#", "RUN", "KIND", "MODEL", "OUTCOME", "DURATION", "TOKENS"],
    shown.map((a, i) => [
      String(skipped + i + 1),
      String(a.run_id),
      a.kind,
      a.model ?? "default",
      paint(statusColor(a.outcome ?? "running"), a.outcome ?? "running"),
      formatDuration(a.duration_s),
      formatTokens(a.tokens?.total),
    ]),
  ).split("\n").map((line) => `  ${line}`);
  const lines = ["attempts:", ...table];
  if (skipped > 0) lines.push(`  … ${skipped} earlier attempts (see --json)`);
  return lines;
}

function filesHeader(p: ResultPacket): string {
  const s = p.files_summary;
  if (s.files === 0) return "files     none changed";
  const span = p.commit_after && p.commit_after !== p.commit_before
    ? `commits ${short(p.commit_before)}..${short(p.commit_after)}`
    : null;
  const where = [
    span,
    p.uncommitted.length > 0 ? `${p.uncommitted.length} uncommitted` : null,
  ].filter(Boolean).join(" + ");
  return `files     ${s.files} changed, +${s.added} −${s.removed}${where ? ` (${where})` : ""}`;
}

/** The `rows` biggest changes, in path order, then one line counting the rest. */
function fileLines(files: FileChange[], rows: number): string[] {
  if (files.length === 0) return [];
  const size = (f: FileChange) => (f.added ?? 0) + (f.removed ?? 0);
  const picked = new Set(
    files.length <= rows ? files : [...files].sort((a, b) => size(b) - size(a)).slice(0, rows),
  );
  const shown = files.filter((f) => picked.has(f));
  const table = formatTable(
    ["", "", ""],
    shown.map((f) => [
      f.added === null ? "bin" : `+${f.added}`,
      f.removed === null ? "" : `−${f.removed}`,
      cut(f.path, 120),
    ]),
  ).split("\n").slice(1).map((line) => `  ${line}`);
  const rest = files.filter((f) => !picked.has(f));
  if (rest.length > 0) {
    const added = rest.reduce((sum, f) => sum + (f.added ?? 0), 0);
    const removed = rest.reduce((sum, f) => sum + (f.removed ?? 0), 0);
    table.push(`  … and ${rest.length} more files (+${added} −${removed})`);
  }
  return table;
}

function tokenLine(t: TokenTotals): string {
  if (t.total === 0) return "none reported";
  const n = (count: number) => (count === 0 ? "0" : formatTokens(count));
  return `${n(t.total)} (input ${n(t.input)}, cached ${n(t.cached_input)}, output ${
    n(t.output)
  }, reasoning ${n(t.reasoning)})`;
}

function short(commit: string | null): string {
  return commit ? commit.slice(0, 8) : "(root)";
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function cut(text: string, max = MAX_LINE_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
