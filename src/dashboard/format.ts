/**
 * Formatting shared by the server-rendered pages and the islands (so a value looks the same
 * before and after hydration). Browser-safe: no Deno APIs.
 */

/** `4.2s`, `38s`, `12m05s`, `3h07m`; `-` for a missing value. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "-";
  if (seconds < 10) return `${Math.max(0, seconds).toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** Seconds from `start` to `end` (or to `now` while `end` is null). */
export function elapsedSeconds(start: string, end: string | null, now = Date.now()): number {
  const to = end ? Date.parse(end) : now;
  const from = Date.parse(start);
  return Number.isFinite(from) && Number.isFinite(to) ? Math.max(0, (to - from) / 1000) : 0;
}

/** Compact token count: `950`, `12.3k`, `4.1M`; `-` for none. */
export function formatTokens(tokens: number | null | undefined): string {
  if (!tokens) return "-";
  if (tokens < 1000) return String(tokens);
  if (tokens < 1_000_000) return `${(tokens / 1000).toFixed(1)}k`;
  return `${(tokens / 1_000_000).toFixed(1)}M`;
}

/** A stored UTC timestamp as `2026-11-24 00:41:32` (UTC, as stored; the full value goes in a title). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "-";
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)/.exec(iso);
  return match ? `${match[1]} ${match[2]}` : iso;
}

/** The last path segment, for compact target names (`/repo/worktrees/feat-a` → `feat-a`). */
export function baseName(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, "");
  const index = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  return index >= 0 ? trimmed.slice(index + 1) || trimmed : trimmed;
}

/** A short commit id (first 8 characters). */
export function shortCommit(commit: string | null | undefined): string {
  return commit ? commit.slice(0, 8) : "-";
}

/** One line of at most `max` characters, with an ellipsis when cut. */
export function clip(text: string | null | undefined, max: number): string {
  if (!text) return "";
  const line = text.replace(/\s+/g, " ").trim();
  return line.length <= max ? line : line.slice(0, max - 1) + "…";
}

/** The CSS class of a run status or attempt outcome badge (`ok`, `run`, `warn`, `bad`). */
export function statusTone(status: string | null | undefined): string {
  switch (status) {
    case "running":
    case "started":
    case "run_started":
      return "run";
    case "completed":
    case "done":
    case "committed":
    case "accepted":
      return "ok";
    case "stopped":
    case "interrupted":
    case "not_marked_done":
    case "skipped":
    case "warning":
    case "retry":
    case "stop_requested":
    case "sent_back":
      return "warn";
    case "failed":
    case "worker_failed":
    case "context_limit":
    case "usage_limit":
    case "auth":
    case "timeout_total":
    case "timeout_idle":
    case "spawn_error":
    case "ticket_error":
    case "commit_failed":
      return "bad";
    default:
      return "muted";
  }
}
