/**
 * Reading an attempt's log files for the dashboard. Every path is derived from the attempt's
 * `log_dir` as stored in the database, joined under the project's `.cmcs/logs/` and refused if it
 * escapes it (`..`, an absolute path, a symlink pointing elsewhere); reads are bounded tails, never
 * a whole file.
 */
import { isAbsolute, relative, resolve, sep } from "../core/path.ts";
import { rawLogLines } from "../core/attempt_log.ts";
import { createJsonlRenderer, renderJsonl } from "../core/codex_render.ts";
import type { AttemptRow } from "../core/db/types.ts";
import type { Project } from "../core/project.ts";
import { ATTEMPT_FILES } from "../core/runner/execute_worker.ts";
import { fileSize, readRange, readTail } from "../core/tail.ts";

/** The most bytes of a log file one request reads. */
export const LOG_TAIL_BYTES = 1024 * 1024;
/** The most lines one response carries. */
export const MAX_LOG_LINES = 2000;

export type LogFile = keyof typeof ATTEMPT_FILES;

/**
 * The absolute path of one of an attempt's files, or null when the attempt has no log directory
 * or its `log_dir` would lead outside the project's logs directory. Symlinks are resolved for
 * whatever part of the path exists, so a link inside `logs/` cannot point the read elsewhere.
 */
export async function attemptFile(
  project: Project,
  attempt: Pick<AttemptRow, "log_dir">,
  file: LogFile,
): Promise<string | null> {
  const dir = attempt.log_dir;
  if (!dir || isAbsolute(dir) || dir.includes("\0")) return null;
  const base = resolve(project.logsDir);
  const path = resolve(base, dir, ATTEMPT_FILES[file]);
  if (!inside(base, path)) return null;
  let realBase: string;
  try {
    realBase = await Deno.realPath(base);
  } catch {
    return path;
  }
  for (const candidate of [path, resolve(base, dir)]) {
    try {
      return inside(realBase, await Deno.realPath(candidate)) ? path : null;
    } catch {
      // Not there (yet): check the directory instead, or accept a path that does not exist.
    }
  }
  return path;
}

export interface LogTail {
  lines: string[];
  /** True when older lines were left out (by the line limit or the byte bound). */
  truncated: boolean;
  /** Byte size of the file when read: where a live stream continues. */
  offset: number;
}

/**
 * The last `maxLines` lines of a `codex.jsonl`, rendered for people (or the raw JSONL lines with
 * `raw`), from at most {@link LOG_TAIL_BYTES} at the end of the file.
 */
export async function readLogTail(
  path: string | null,
  opts: { maxLines: number; raw?: boolean },
): Promise<LogTail> {
  if (!path) return { lines: [], truncated: false, offset: 0 };
  const size = await fileSize(path);
  const text = await readTail(path, LOG_TAIL_BYTES);
  const all = opts.raw ? rawLogLines(text) : renderJsonl(text);
  const lines = all.slice(-opts.maxLines);
  return {
    lines,
    truncated: lines.length < all.length || size > LOG_TAIL_BYTES,
    offset: size,
  };
}

/**
 * Follows a growing `codex.jsonl` from a byte offset: each {@link next} returns the rendered lines
 * of the complete lines written since, keeping a half-written last line for the next call. A
 * reader far behind skips ahead to the last {@link LOG_TAIL_BYTES}; a file that shrank (replaced)
 * is read again from its start.
 */
export class LogFollower {
  #offset: number;
  #render = createJsonlRenderer();

  /**
   * `stillValid` is asked before every read: the path was checked once, but a link can be put in
   * place of the file later, and the follower must not read where it points.
   */
  constructor(
    readonly path: string,
    offset: number,
    private readonly stillValid: () => Promise<boolean> = () => Promise.resolve(true),
  ) {
    this.#offset = offset;
  }

  get offset(): number {
    return this.#offset;
  }

  async next(): Promise<string[]> {
    if (!(await this.stillValid())) return [];
    const size = await fileSize(this.path);
    if (size < this.#offset) this.#offset = 0;
    if (size === this.#offset) return [];
    let start = this.#offset;
    let skipPartial = false;
    if (size - start > LOG_TAIL_BYTES) {
      start = size - LOG_TAIL_BYTES;
      skipPartial = true;
    }
    const bytes = await readRange(this.path, start, size);
    let begin = 0;
    if (skipPartial) begin = bytes.indexOf(10) + 1;
    const end = bytes.lastIndexOf(10) + 1;
    if (end <= begin) {
      if (skipPartial) this.#offset = start;
      return [];
    }
    this.#offset = start + end;
    const text = new TextDecoder().decode(bytes.subarray(begin, end));
    return this.#render(text);
  }
}

function inside(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
