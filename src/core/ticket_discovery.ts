/**
 * Finding a target's tickets, ordering them, and looking one up. Discovery reads the directory
 * afresh on every call so tickets added or edited during a run are seen.
 */
import { isAbsolute, join, relative, resolve, sep } from "./path.ts";
import { UserError } from "./errors.ts";
import { parseTicket, type TicketEntry, ticketId } from "./ticket_parse.ts";
import { findTicketRef } from "./ticket_ref.ts";

/** The names the tickets directory holds tickets under. */
export const TICKET_FILE = /^TICKET-.*\.md$/;

/**
 * The absolute tickets directory of `target` for a configured `dir`. The directory must stay
 * inside the target (a worker is only trusted with its own tree), so an absolute `dir` or one that
 * climbs out with `..` is an error. The check is on the path as written; `.` (the target itself)
 * is allowed.
 */
export function resolveTicketsDir(target: string, dir: string): string {
  if (isAbsolute(dir)) {
    throw new UserError(
      `tickets.dir must be relative to the target, got the absolute path ${dir}`,
      {
        hint: "set tickets.dir in .cmcs/config.yml to a path such as .cmcs/tickets",
      },
    );
  }
  const absolute = resolve(target, dir);
  const rel = relative(target, absolute);
  if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new UserError(`tickets.dir "${dir}" points outside the target ${target}`, {
      hint: "set tickets.dir in .cmcs/config.yml to a path inside the repository",
    });
  }
  return absolute;
}

/**
 * Fails with a clear error when a target's tickets directory is missing (most likely `tickets.dir`
 * points elsewhere) or is a file: `run` and `ticket validate` say so up front, instead of reporting
 * a run that did nothing or "no tickets".
 */
export async function requireTicketsDir(ticketsDir: string, configured: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(ticketsDir);
  } catch {
    throw new UserError(`no tickets directory at ${ticketsDir} (tickets.dir: ${configured})`, {
      hint: "write a ticket with `cmcs ticket new` (it creates the directory), " +
        "or fix tickets.dir in .cmcs/config.yml",
    });
  }
  if (!info.isDirectory) {
    throw new UserError(`the tickets directory ${ticketsDir} is a file, not a directory`, {
      hint: "move the file away or set tickets.dir in .cmcs/config.yml",
    });
  }
}

/**
 * Every `TICKET-*.md` in `ticketsDir` (case-sensitive, not recursive), parsed, in natural order.
 * A missing directory gives `[]`. An entry that cannot be a ticket (a directory named
 * `TICKET-x.md`, an unreadable file) is returned as a malformed entry instead of failing the whole
 * discovery, so one bad file never hides the others. A path that exists but is not a directory is
 * an error naming it.
 */
export function discoverTickets(ticketsDir: string): Promise<TicketEntry[]> {
  try {
    return Promise.resolve(_discover(ticketsDir));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** {@link discoverTickets}, synchronously (see {@link _readTicket} for why). */
function _discover(ticketsDir: string): TicketEntry[] {
  const names: string[] = [];
  try {
    // Synchronous, as the reads below: see _readTicket.
    for (const entry of Deno.readDirSync(ticketsDir)) {
      if (TICKET_FILE.test(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    if (error instanceof Deno.errors.NotADirectory) {
      throw new UserError(`the tickets directory ${ticketsDir} is a file, not a directory`, {
        hint: "move the file away or set tickets.dir in .cmcs/config.yml",
      });
    }
    throw new UserError(`cannot read the tickets directory ${ticketsDir}: ${error}`);
  }
  names.sort(compareTicketNames);
  const previous = _parsed.get(ticketsDir);
  const current = new Map<string, ParsedFile>();
  const entries = names.map((name) => _readTicket(join(ticketsDir, name), name, previous, current));
  _parsed.set(ticketsDir, current);
  return entries;
}

/**
 * The largest ticket file read. Every ticket is read whole before each step of a run and on
 * dashboard pages; a ticket is a page of instructions (a worker's prompt gets it whole), so a
 * file past this is a mistake, reported as a broken ticket without being read.
 */
export const MAX_TICKET_BYTES = 8 * 1024 * 1024;

interface ParsedFile {
  bytes: Uint8Array;
  entry: TicketEntry;
  /** The file's identity when it was read, if it had been still long enough to trust (below). */
  still: string | null;
}

/**
 * How long a file must have gone unchanged before its read bytes stand for it while its status
 * (device, inode, size, modification and change times) stays the same. Deno reports the change
 * time in whole seconds (cut down, not rounded), and file systems stamp times from a clock that may
 * lag by a few milliseconds: a write after the read therefore lands in a later second than a
 * change time 1.5 s back, so an edit that keeps the size (even one that restores the modification
 * time) is still seen. A file on a clock running ahead of this machine's is simply read every time;
 * one on a clock lagging it by more than this (a remote file system) could hide an edit that keeps
 * the size and restores the modification time within the same second.
 */
const STILL_MS = 1500;

/** The status fields that change with the content, or null when one is missing (re-read then). */
function _identity(info: Deno.FileInfo, readAt: number): string | null {
  const { dev, ino, size, mtime, ctime } = info;
  if (!ino || !mtime || !ctime) return null;
  if (Math.max(mtime.getTime(), ctime.getTime()) > readAt - STILL_MS) return null;
  return `${dev}:${ino}:${size}:${mtime.getTime()}:${ctime.getTime()}`;
}

/**
 * The last parse of each ticket file, by directory, with the bytes it was parsed from. A run
 * discovers every ticket before each step; a file whose bytes are unchanged is not parsed again
 * (its entry is deeply frozen and handed out as it is: cheaper than a copy per look, and a caller
 * that tried to change it would fail at once instead of altering the cache), and a file that has stayed
 * still since it was read (see {@link STILL_MS}) is not even read again: a run looks before every
 * ticket, and reading every ticket file each time was most of the cost. Only the files present at
 * the last discovery of a directory are kept.
 */
const _parsed = new Map<string, Map<string, ParsedFile>>();

/** `value` and everything reachable from it, frozen; returns `value`. */
function _deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  for (const key of Reflect.ownKeys(value)) {
    _deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return Object.freeze(value);
}

function _sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * One ticket file, stat and bytes read synchronously: a run discovers every ticket before each
 * step, and for a few dozen small files the asynchronous calls (each a trip through Deno's thread
 * pool, about 40 µs against 5 µs here) were most of a discovery's cost. Ticket files are small
 * (at most {@link MAX_TICKET_BYTES}) and local to the repository; a file system that hangs would
 * hold the broker's other targets too while it hangs, where it held only this target before.
 */
function _readTicket(
  path: string,
  file: string,
  previous: Map<string, ParsedFile> | undefined,
  current: Map<string, ParsedFile>,
): TicketEntry {
  const broken = (message: string): TicketEntry => ({
    ok: false,
    file,
    id: ticketId(file),
    path,
    problems: [{ file, path, line: null, message }],
  });
  try {
    const readAt = Date.now();
    const info = Deno.statSync(path);
    if (info.isDirectory) return broken("is a directory, not a ticket file: rename or remove it");
    if (!info.isFile) return broken("is not a regular file (a pipe or device?): remove it");
    if (info.size > MAX_TICKET_BYTES) {
      return broken(
        `is ${(info.size / 1024 / 1024).toFixed(1)} MiB; a ticket may be at most ${
          MAX_TICKET_BYTES / 1024 / 1024
        } MiB: split it, or move the material it quotes into files it names`,
      );
    }
    const hit = previous?.get(file);
    const still = _identity(info, readAt);
    if (hit && still !== null && hit.still === still) {
      current.set(file, hit);
      return hit.entry;
    }
    const bytes = Deno.readFileSync(path);
    const parsed = hit && _sameBytes(hit.bytes, bytes)
      ? { ...hit, still }
      : { bytes, entry: _deepFreeze(parseTicket(path, bytes)), still };
    current.set(file, parsed);
    return parsed.entry;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return broken("disappeared while being read (or is a broken symlink): check the file");
    }
    return broken(`cannot be read: ${(error as Error).message}`);
  }
}

/**
 * Natural order of ticket names: runs of digits compare as numbers, so `TICKET-2` < `TICKET-10`
 * and padded and unpadded names interleave (`TICKET-009` < `TICKET-10`). A trailing `.md` is
 * ignored, so `TICKET-2` < `TICKET-2-fix` < `TICKET-3`. Text runs compare by code point (not
 * locale), and names that tie numerically (`TICKET-10`, `TICKET-010`) fall back to plain code
 * point order, so the order is total and the same on every machine.
 */
export function compareTicketNames(a: string, b: string): number {
  const left = _chunks(a.replace(/\.md$/, ""));
  const right = _chunks(b.replace(/\.md$/, ""));
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = left[i];
    const y = right[i];
    const xDigit = /^\d/.test(x);
    const yDigit = /^\d/.test(y);
    let order: number;
    if (xDigit && yDigit) {
      const xs = x.replace(/^0+(?=\d)/, "");
      const ys = y.replace(/^0+(?=\d)/, "");
      order = xs.length !== ys.length ? xs.length - ys.length : _codePoints(xs, ys);
    } else {
      order = _codePoints(x, y);
    }
    if (order !== 0) return Math.sign(order);
  }
  if (left.length !== right.length) return left.length < right.length ? -1 : 1;
  return _codePoints(a, b);
}

function _chunks(name: string): string[] {
  return name.match(/\d+|\D+/g) ?? [];
}

function _codePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return Math.sign(d);
  }
  return Math.sign(x.length - y.length);
}

/**
 * The `## Progress` section of the ticket just before `entries[index]`, the context a worker gets
 * from its predecessor: from the first line starting with `## Progress` (`### Progress` and
 * `## Progressive` do not count) to the end of the file, trimmed. Only the immediate predecessor
 * is consulted, whatever its `done` or parse state; a malformed one is read from its raw text.
 * Null for the first ticket or when the predecessor has no such section (or could not be read).
 */
export function previousProgress(entries: TicketEntry[], index: number): string | null {
  if (index <= 0 || index > entries.length) return null;
  const previous = entries[index - 1];
  const raw = previous.ok ? previous.ticket.raw : previous.raw;
  if (raw === undefined) return null;
  const match = /^## Progress(?![\w-])/m.exec(raw);
  if (!match) return null;
  return raw.slice(match.index).trim();
}

/**
 * The ticket `ref` names among `entries`, by the rules of {@link findTicketRef} (the one resolver
 * every command uses); undefined when it names none. Throws `AmbiguousTicketRefError` when it
 * names several (`2` with TICKET-002 and TICKET-002-fix present).
 */
export function findTicket(entries: TicketEntry[], ref: string): TicketEntry | undefined {
  const idOf = (entry: TicketEntry) => (entry.ok ? entry.ticket.id : entry.id);
  const id = findTicketRef(entries.map(idOf), ref);
  return id === undefined ? undefined : entries.find((entry) => idOf(entry) === id);
}

/**
 * Where `ticket new` writes next: one more than the highest `TICKET-<n>` in the directory, or the
 * first number above it that no ticket in `alsoIn` uses (the same tickets directory in the
 * repository's other worktrees), so branches merged later never both add `TICKET-004.md` while
 * each stream keeps its own order and any range it was given. Suffixes count by their number
 * (`TICKET-004-fix.md` is 4). The number is zero-padded to 3 digits or to the width the highest
 * ticket of the directory uses (`TICKET-0007.md` → `TICKET-0008.md`). A missing directory counts
 * as empty. `skipped` lists the other directories' tickets whose numbers were passed over. Callers
 * should create the file with `createNew` and retry on a race.
 */
export async function nextTicketPath(
  ticketsDir: string,
  alsoIn: string[] = [],
): Promise<{ path: string; number: number; skipped: string[] }> {
  let highest = 0;
  let width = 3;
  for (const { number, digits } of await _ticketNumbers(ticketsDir)) {
    if (number > highest || (number === highest && digits.length > width)) {
      highest = number;
      width = Math.max(3, digits.length);
    }
  }
  const taken = new Map<number, string[]>();
  for (const dir of alsoIn) {
    for (const { number, name } of await _ticketNumbers(dir)) {
      if (number > highest) taken.set(number, [...taken.get(number) ?? [], join(dir, name)]);
    }
  }
  let number = highest + 1;
  const skipped: string[] = [];
  for (; taken.has(number); number++) skipped.push(...taken.get(number)!);
  const path = join(ticketsDir, `TICKET-${String(number).padStart(width, "0")}.md`);
  return { path, number, skipped };
}

/** The `TICKET-<n>…md` files of a tickets directory; none when it does not exist (yet). */
async function _ticketNumbers(
  dir: string,
): Promise<{ name: string; number: number; digits: string }[]> {
  const tickets: { name: string; number: number; digits: string }[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const match = /^TICKET-(\d+).*\.md$/.exec(entry.name);
      if (match) tickets.push({ name: entry.name, number: Number(match[1]), digits: match[1] });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return tickets;
}
