/**
 * Path functions with `node:path`'s meaning: `join`, `resolve`, `relative`, `dirname`,
 * `basename`, `isAbsolute` and `sep`.
 *
 * Why not `node:path` itself: importing it loads Deno's Node compatibility layer (errors,
 * validators, buffers), about 5 ms of a 16 ms empty `deno run`, and `cmcs status` and
 * `cmcs brief` run on every prompt of a Claude session (bench/analysis.md). On POSIX systems
 * these are ports of Node's `path.posix` algorithms, checked against it input by input in
 * tests/path_test.ts (empty strings, `.` and `..` above the root, repeated and trailing slashes,
 * a leading `//`). On Windows they are Node's own `path.win32`, taken from the runtime when first
 * used, where drive letters, UNC shares and both separators make a port not worth its risk.
 */

const SLASH = 47; // "/"
const DOT = 46; // "."

interface NodePath {
  sep: string;
  join(...parts: string[]): string;
  resolve(...parts: string[]): string;
  relative(from: string, to: string): string;
  dirname(path: string): string;
  basename(path: string): string;
  isAbsolute(path: string): boolean;
}

const WINDOWS = Deno.build.os === "windows";
let _nodePath: NodePath | undefined;

/** Node's `path` (win32 on Windows), loaded synchronously on first use: Windows only. */
function _native(): NodePath {
  _nodePath ??= (globalThis as unknown as {
    process: { getBuiltinModule(id: string): NodePath };
  }).process.getBuiltinModule("node:path");
  return _nodePath;
}

/** The separator of this system's paths. */
export const sep: string = WINDOWS ? "\\" : "/";

/** True when `path` starts at the root (POSIX) or a drive or share (Windows). */
export function isAbsolute(path: string): boolean {
  if (WINDOWS) return _native().isAbsolute(path);
  return path.length > 0 && path.charCodeAt(0) === SLASH;
}

/** The segments joined with `/` and normalised; `"."` when every segment is empty. */
export function join(...parts: string[]): string {
  if (WINDOWS) return _native().join(...parts);
  let joined: string | undefined;
  for (const part of parts) {
    if (part.length > 0) joined = joined === undefined ? part : `${joined}/${part}`;
  }
  return joined === undefined ? "." : _normalize(joined);
}

/** The absolute path the segments name, read right to left from the current directory. */
export function resolve(...parts: string[]): string {
  if (WINDOWS) return _native().resolve(...parts);
  let resolved = "";
  let absolute = false;
  for (let i = parts.length - 1; i >= -1 && !absolute; i--) {
    const part = i >= 0 ? parts[i] : Deno.cwd();
    if (part.length === 0) continue;
    resolved = `${part}/${resolved}`;
    absolute = part.charCodeAt(0) === SLASH;
  }
  resolved = _normalizeSegments(resolved, !absolute);
  if (absolute) return `/${resolved}`;
  return resolved.length > 0 ? resolved : ".";
}

/** The path from `from` to `to` (both resolved first); `""` when they are the same. */
export function relative(from: string, to: string): string {
  if (WINDOWS) return _native().relative(from, to);
  if (from === to) return "";
  from = resolve(from);
  to = resolve(to);
  if (from === to) return "";
  const fromStart = 1;
  const fromEnd = from.length;
  const fromLength = fromEnd - fromStart;
  const toStart = 1;
  const toLength = to.length - toStart;
  const length = fromLength < toLength ? fromLength : toLength;
  let lastCommonSep = -1;
  let i = 0;
  for (; i < length; i++) {
    const code = from.charCodeAt(fromStart + i);
    if (code !== to.charCodeAt(toStart + i)) break;
    if (code === SLASH) lastCommonSep = i;
  }
  if (i === length) {
    if (toLength > length) {
      // `from` is a prefix of `to`: `/a/b` → `/a/b/c`, or the root: `/` → `/a`.
      if (to.charCodeAt(toStart + i) === SLASH) return to.slice(toStart + i + 1);
      if (i === 0) return to.slice(toStart + i);
    } else if (fromLength > length) {
      // `to` is a prefix of `from`: `/a/b/c` → `/a/b`, or the root: `/a` → `/`.
      if (from.charCodeAt(fromStart + i) === SLASH) lastCommonSep = i;
      else if (i === 0) lastCommonSep = 0;
    }
  }
  let up = "";
  for (i = fromStart + lastCommonSep + 1; i <= fromEnd; i++) {
    if (i === fromEnd || from.charCodeAt(i) === SLASH) up += up.length === 0 ? ".." : "/..";
  }
  return `${up}${to.slice(toStart + lastCommonSep)}`;
}

/** `path` without its last segment (trailing slashes ignored); `"."` or `"/"` at the top. */
export function dirname(path: string): string {
  if (WINDOWS) return _native().dirname(path);
  if (path.length === 0) return ".";
  const hasRoot = path.charCodeAt(0) === SLASH;
  let end = -1;
  let matchedSlash = true;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path.charCodeAt(i) === SLASH) {
      if (!matchedSlash) {
        end = i;
        break;
      }
    } else {
      matchedSlash = false;
    }
  }
  if (end === -1) return hasRoot ? "/" : ".";
  if (hasRoot && end === 1) return "//";
  return path.slice(0, end);
}

/** The last segment of `path` (trailing slashes ignored). */
export function basename(path: string): string {
  if (WINDOWS) return _native().basename(path);
  let start = 0;
  let end = -1;
  let matchedSlash = true;
  for (let i = path.length - 1; i >= 0; i--) {
    if (path.charCodeAt(i) === SLASH) {
      if (!matchedSlash) {
        start = i + 1;
        break;
      }
    } else if (end === -1) {
      matchedSlash = false;
      end = i + 1;
    }
  }
  return end === -1 ? "" : path.slice(start, end);
}

/** `path` with `.`, `..` and repeated slashes resolved, keeping a trailing slash. */
function _normalize(path: string): string {
  if (path.length === 0) return ".";
  const absolute = path.charCodeAt(0) === SLASH;
  const trailing = path.charCodeAt(path.length - 1) === SLASH;
  let normalized = _normalizeSegments(path, !absolute);
  if (normalized.length === 0) {
    if (absolute) return "/";
    return trailing ? "./" : ".";
  }
  if (trailing) normalized += "/";
  return absolute ? `/${normalized}` : normalized;
}

/**
 * The segments of `path` with `.`, empty segments and `..` resolved, joined without a leading or
 * trailing slash; a `..` above the start is kept only when `aboveRoot` (a relative path).
 */
function _normalizeSegments(path: string, aboveRoot: boolean): string {
  let result = "";
  let lastSegmentLength = 0;
  let lastSlash = -1;
  let dots = 0;
  let code = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i < path.length) code = path.charCodeAt(i);
    else if (code === SLASH) break;
    else code = SLASH;
    if (code === SLASH) {
      if (lastSlash === i - 1 || dots === 1) {
        // An empty segment or `.`: nothing to add.
      } else if (dots === 2) {
        if (
          result.length < 2 || lastSegmentLength !== 2 ||
          result.charCodeAt(result.length - 1) !== DOT ||
          result.charCodeAt(result.length - 2) !== DOT
        ) {
          if (result.length > 2) {
            const lastSlashIndex = result.lastIndexOf("/");
            if (lastSlashIndex === -1) {
              result = "";
              lastSegmentLength = 0;
            } else {
              result = result.slice(0, lastSlashIndex);
              lastSegmentLength = result.length - 1 - result.lastIndexOf("/");
            }
            lastSlash = i;
            dots = 0;
            continue;
          } else if (result.length !== 0) {
            result = "";
            lastSegmentLength = 0;
            lastSlash = i;
            dots = 0;
            continue;
          }
        }
        if (aboveRoot) {
          result += result.length > 0 ? "/.." : "..";
          lastSegmentLength = 2;
        }
      } else {
        const segment = path.slice(lastSlash + 1, i);
        result = result.length > 0 ? `${result}/${segment}` : segment;
        lastSegmentLength = i - lastSlash - 1;
      }
      lastSlash = i;
      dots = 0;
    } else if (code === DOT && dots !== -1) {
      dots++;
    } else {
      dots = -1;
    }
  }
  return result;
}
