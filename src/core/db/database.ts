import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { dirname } from "../path.ts";
import { UserError } from "../errors.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "./schema.ts";

export type Row = Record<string, SQLInputValue>;
export type Param = SQLInputValue;

/** How long a writer waits for another cmcs process's write lock before failing. */
const BUSY_TIMEOUT_MS = 10_000;
/**
 * Overrides {@link BUSY_TIMEOUT_MS} (milliseconds), so tests of a database locked past the timeout
 * need not wait 10 s for each try. Read once; an unset, unreadable or bad value keeps the default.
 */
const BUSY_TIMEOUT_VAR = "CMCS_BUSY_TIMEOUT_MS";
/**
 * Write transactions tried in all when their `BEGIN IMMEDIATE` finds the database locked: each
 * try waits the busy timeout, so a writer gives up after this many timeouts with a clear error.
 */
const WRITE_TRIES = 3;
/**
 * Prepared statements kept per connection. The broker and the dashboard run the same few dozen
 * statements over and over; SQL built with a variable number of placeholders can add more, so the
 * oldest is dropped past this many.
 */
const STATEMENT_CACHE_SIZE = 128;

/**
 * One SQLite database shared by every cmcs process of a repository: WAL so readers never block
 * the broker, a busy timeout so concurrent writers queue instead of failing, and `BEGIN IMMEDIATE`
 * for every write transaction so two writers never deadlock upgrading a read lock.
 */
export class Database {
  readonly path: string;
  readonly #db: DatabaseSync;
  #depth = 0;
  readonly #statements = new Map<string, StatementSync>();

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
  }

  /**
   * Opens (creating if needed) and migrates the database at `path`. Whatever is wrong with the file
   * — not a regular file (a symlink to `/dev/null`, a FIFO that would hang the open), read-only,
   * damaged, missing one of cmcs's tables — is a {@link UserError} saying what to do.
   */
  static open(path: string): Database {
    _requireRegularFile(path);
    Deno.mkdirSync(dirname(path), { recursive: true });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
      db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs()}`);
      // WAL stays set in the file: asking costs a tenth of setting it again on every open.
      const mode = db.prepare("PRAGMA journal_mode").get() as { journal_mode?: string } | undefined;
      if (mode?.journal_mode !== "wal") db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec("PRAGMA foreign_keys = ON");
    } catch (error) {
      throw sqliteUserError(path, error) ??
        new UserError(`cannot open the cmcs database ${path}: ${(error as Error).message}`, {
          hint: "check that the file is a SQLite database and is writable",
        });
    }
    const database = new Database(path, db);
    try {
      database.#migrate();
      database.#requireTables();
    } catch (error) {
      database.close();
      throw sqliteUserError(path, error) ?? error;
    }
    return database;
  }

  /**
   * Opens the database at `path` for reading only: no directory or file is created and nothing is
   * migrated, so a read-only command (`cmcs brief`, run by a session-start hook) can never change
   * the state a running broker relies on. Null when the file does not exist or is not at this
   * cmcs's schema version (an older database is upgraded by the next command that writes).
   */
  static openReadOnly(path: string): Database | null {
    let db: DatabaseSync;
    try {
      Deno.statSync(path);
      db = new DatabaseSync(path, { readOnly: true });
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      if (_isDamaged(error)) throw damagedDatabase(path, error as Error);
      throw new UserError(`cannot open the cmcs database ${path}: ${(error as Error).message}`, {
        hint: "check that the file is a SQLite database and is readable",
      });
    }
    const database = new Database(path, db);
    if (database.version !== SCHEMA_VERSION) {
      database.close();
      return null;
    }
    return database;
  }

  /** The schema version this database is at (`PRAGMA user_version`). */
  get version(): number {
    return Number(this.get<{ user_version: number }>("PRAGMA user_version")?.user_version ?? 0);
  }

  #migrate(): void {
    if (this.version === SCHEMA_VERSION) return;
    this.transaction(() => {
      const current = this.version;
      if (current > SCHEMA_VERSION) {
        throw new UserError(
          `${this.path} was written by a newer cmcs (schema ${current}, this cmcs knows ${SCHEMA_VERSION})`,
          { hint: "upgrade cmcs" },
        );
      }
      const legacy = current === 0 && this.#hasTable("runs");
      for (const migration of MIGRATIONS) {
        if (migration.version <= current) continue;
        for (const sql of migration.statements(legacy && migration.version === 1)) {
          this.#db.exec(sql);
        }
        this.#db.exec(`PRAGMA user_version = ${migration.version}`);
      }
    });
  }

  /**
   * A database at the current schema version that lacks one of cmcs's tables (dropped by hand, or
   * a file from another program) would fail in the middle of a command; say so at once.
   */
  #requireTables(): void {
    const tables = new Set(
      this.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .map((row) => row.name),
    );
    const missing = REQUIRED_TABLES.find((table) => !tables.has(table));
    if (missing) throw damagedDatabase(this.path, new Error(`it has no \`${missing}\` table`));
  }

  #hasTable(name: string): boolean {
    return this.get("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?", name) !==
      undefined;
  }

  /**
   * Runs `fn` inside `BEGIN IMMEDIATE … COMMIT` (rolled back if it throws). Nested calls join the
   * outer transaction. `fn` must be synchronous: node:sqlite is, and holding a write lock across
   * an `await` would stall every other cmcs process.
   *
   * A `BEGIN IMMEDIATE` that finds the database locked past the busy timeout is tried again, up to
   * {@link WRITE_TRIES} times in all (`fn` has not run then, so nothing is repeated). The error
   * that ends a transaction is the one reported: SQLite may already have rolled back (a full disk
   * does), and a ROLLBACK then would throw "no transaction is active" and hide the real cause.
   * A locked, full, read-only or failing database becomes a {@link UserError} naming the file.
   */
  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    for (let tries = 1;; tries++) {
      try {
        this.#db.exec("BEGIN IMMEDIATE");
      } catch (error) {
        if (tries < WRITE_TRIES && _troubleOf(error) === "locked") continue;
        throw this.#trouble(error, tries);
      }
      break;
    }
    this.#depth++;
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.#db.isTransaction) {
        try {
          this.#db.exec("ROLLBACK");
        } catch { /* the first error is the one that says what went wrong */ }
      }
      throw this.#trouble(error, 1);
    } finally {
      this.#depth--;
    }
  }

  /** `error` as the user's to fix when it is trouble with the database file; else unchanged. */
  #trouble(error: unknown, tries: number): unknown {
    if (error instanceof UserError) return error;
    if (_isDamaged(error)) return damagedDatabase(this.path, error as Error);
    const kind = _troubleOf(error);
    if (kind) return databaseTrouble(this.path, kind, (error as Error).message, tries);
    return sqliteUserError(this.path, error) ?? error;
  }

  /** Runs a write statement in its own immediate transaction; returns the last insert id and changes. */
  run(sql: string, ...params: Param[]): { lastInsertRowid: number; changes: number } {
    return this.transaction(() => {
      const result = this.#guard(() => this.#prepare(sql).run(...params));
      return { lastInsertRowid: Number(result.lastInsertRowid), changes: Number(result.changes) };
    });
  }

  get<T = Row>(sql: string, ...params: Param[]): T | undefined {
    return this.#guard(() => this.#prepare(sql).get(...params) as T | undefined);
  }

  all<T = Row>(sql: string, ...params: Param[]): T[] {
    return this.#guard(() => this.#prepare(sql).all(...params) as T[]);
  }

  /**
   * Runs `fn`, turning SQLite's report of a damaged file into a {@link UserError} that says what
   * to do: that is the user's disk or backup to mend, not a bug in cmcs.
   */
  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw this.#trouble(error, 1);
    }
  }

  /** The statement for `sql`, prepared once per connection (preparing costs more than most runs). */
  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement) return statement;
    statement = this.#db.prepare(sql);
    if (this.#statements.size >= STATEMENT_CACHE_SIZE) {
      this.#statements.delete(this.#statements.keys().next().value!);
    }
    this.#statements.set(sql, statement);
    return statement;
  }

  close(): void {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}

/** The tables every command relies on (see schema.ts). */
const REQUIRED_TABLES = [
  "worktrees",
  "runs",
  "attempts",
  "events",
  "reviews",
  "latest_attempts",
];

/**
 * Refuses a database path that exists but is not a regular file (symlinks followed): SQLite
 * would hang opening a FIFO, and "open" `/dev/null` only to fail halfway through a write.
 */
function _requireRegularFile(path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw new UserError(`cannot open the cmcs database ${path}: ${(error as Error).message}`, {
      hint: "check the permissions of the file and of the .cmcs directory",
    });
  }
  if (info.isFile) return;
  throw new UserError(
    `the cmcs database ${path} is not a regular file (${
      info.isDirectory ? "a directory" : "a device, pipe or socket"
    })`,
    {
      hint: `move it aside (mv ${path} ${path}.not-a-db) and run \`cmcs init\` for a new, ` +
        "empty one; tickets and logs are kept",
    },
  );
}

/**
 * The {@link UserError} for an SQLite failure that is the user's file or disk to mend — damaged,
 * read-only, unreadable, disk full or failing — or null for anything else (a bug in cmcs, reported
 * with its stack; a missing table is caught when the database is opened).
 */
export function sqliteUserError(path: string, error: unknown): UserError | null {
  if (error instanceof UserError) return error;
  if (_isDamaged(error)) return damagedDatabase(path, error as Error);
  const message = (error as Error)?.message ?? String(error);
  const code = (error as { errcode?: number })?.errcode;
  if (code === undefined) return null;
  switch (code & 0xff) {
    case 8: // SQLITE_READONLY
      return new UserError(`the cmcs database ${path} is read-only: ${message}`, {
        hint: `let the user running cmcs write ${path} and its directory (ls -l ${
          dirname(path)
        }), or run cmcs as the owner`,
      });
    case 3: // SQLITE_PERM
    case 14: // SQLITE_CANTOPEN
      return new UserError(`cannot open the cmcs database ${path}: ${message}`, {
        hint: `check the permissions of ${path} and of its directory`,
      });
    case 10: // SQLITE_IOERR
    case 13: // SQLITE_FULL
      return new UserError(`cannot write the cmcs database ${path}: ${message}`, {
        hint: "check the disk: free space, and that the file system is writable",
      });
    default:
      return null;
  }
}

/** SQLite's errors for a file that is not (or no longer) a sound database. */
function _isDamaged(error: unknown): boolean {
  const code = (error as { errcode?: number })?.errcode;
  // SQLITE_CORRUPT (11) and SQLITE_NOTADB (26), extended codes included.
  return code !== undefined && [11, 26].includes(code & 0xff) ||
    /database disk image is malformed|file is not a database/i.test(
      (error as Error)?.message ?? "",
    );
}

/** Kinds of trouble with the database file that are the user's (or the machine's) to mend. */
export type DatabaseTrouble = "locked" | "full" | "readonly" | "io";

/** Which {@link DatabaseTrouble} SQLite reported (node:sqlite gives only its message), if any. */
export function _troubleOf(error: unknown): DatabaseTrouble | null {
  const message = (error as Error)?.message ?? "";
  if (/database (table )?is locked|database is busy/i.test(message)) return "locked";
  if (/database or disk is full|no space left/i.test(message)) return "full";
  if (/readonly database|read-only/i.test(message)) return "readonly";
  if (/disk I\/O error/i.test(message)) return "io";
  return null;
}

/**
 * The one-line error for a database cmcs cannot write: SQLite's own words (so a full disk reads
 * "database or disk is full") and what to do. The run it interrupts is tidied by the next command.
 */
export function databaseTrouble(
  path: string,
  kind: DatabaseTrouble,
  message: string,
  tries: number,
): UserError {
  const then = "then run `cmcs status`, which ends the interrupted run";
  if (kind === "locked") {
    const waited = Math.round((busyTimeoutMs() * tries) / 100) / 10;
    return new UserError(
      `the cmcs database ${path} stayed locked by another process for ${waited}s: ${message}`,
      {
        hint: `end the other process's write transaction (a sqlite3 shell, a stuck cmcs), ${then}`,
      },
    );
  }
  const hint = kind === "full"
    ? `free space on that disk, ${then}`
    : kind === "readonly"
    ? `make ${path} and its folder writable, ${then}`
    : `check the disk holding ${path}, ${then}`;
  const what = kind === "readonly"
    ? `the cmcs database ${path} is read-only`
    : `cannot write the cmcs database ${path}`;
  return new UserError(`${what}: ${message}`, { hint });
}

let busyTimeout: number | undefined;

/** The busy timeout in milliseconds: {@link BUSY_TIMEOUT_VAR} when set to a number, else 10 s. */
function busyTimeoutMs(): number {
  if (busyTimeout !== undefined) return busyTimeout;
  let value: string | undefined;
  try {
    value = Deno.env.get(BUSY_TIMEOUT_VAR);
  } catch { /* not among the permitted variables */ }
  const parsed = Number(value);
  busyTimeout = value && Number.isInteger(parsed) && parsed >= 0 ? parsed : BUSY_TIMEOUT_MS;
  return busyTimeout;
}

/** The error for a damaged database file: what happened and how to get going again. */
export function damagedDatabase(path: string, error: Error): UserError {
  return new UserError(`the cmcs database ${path} is damaged: ${error.message}`, {
    hint:
      `move it aside (mv ${path} ${path}.damaged) and run \`cmcs init\` for a new, empty one; ` +
      "tickets and logs are kept, the run history is lost",
  });
}
