// Opening SQLite databases the one way this project needs them: owner-only
// files, WAL, a busy timeout, explicit fsync policy, and a schema version.
// Also maps SQLite's error codes onto the conditions callers act on, and
// guards database steps with the error class of the store that runs them.

import Database from "better-sqlite3";
import { closeSync, existsSync, openSync } from "node:fs";
import { createRequire } from "node:module";

export type Db = Database.Database;

export type Durability = "full" | "normal";

export interface OpenOptions {
  /** Create the file if it does not exist. */
  create: boolean;
  readonly?: boolean;
  durability: Durability;
  busyTimeoutMs?: number;
}

/** The addon's own path, so better-sqlite3 skips its search (a cold `publish` notices the milliseconds). */
const NATIVE = (() => {
  try {
    const file = createRequire(import.meta.url).resolve("better-sqlite3/build/Release/better_sqlite3.node");
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
})();

export function openDatabase(path: string, options: OpenOptions): Db {
  if (options.create && !options.readonly) createPrivately(path);
  const db = new Database(path, {
    fileMustExist: !options.create,
    readonly: options.readonly ?? false,
    ...(NATIVE === undefined ? {} : { nativeBinding: NATIVE }),
  });
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 30_000}`);
    if (!options.readonly) {
      // 8 KiB pages: a 10 KB message then takes two overflow pages, not three (inserts ~1.5x faster here).
      // Only a new file takes it; an existing one keeps its page size.
      db.pragma("page_size = 8192");
      const mode = db.pragma("journal_mode = WAL", { simple: true });
      if (String(mode).toLowerCase() !== "wal") throw new Error(`cannot switch ${path} to WAL (got ${String(mode)})`);
      db.pragma(`synchronous = ${options.durability === "full" ? "FULL" : "NORMAL"}`);
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Create a new database file owner-only (0600), whatever the umask: it holds
 * message bodies. SQLite gives its -wal and -shm files the main file's mode.
 * An existing file keeps the mode its operator chose. Any other failure is
 * left for SQLite to report, with the codes callers classify.
 */
function createPrivately(path: string): void {
  if (path === "" || path === ":memory:") return;
  try {
    closeSync(openSync(path, "wx", 0o600));
  } catch {
    /* it exists, or SQLite will say why it cannot be opened */
  }
}

/** The file is a SQLite database, but not one of ours (or not the kind expected). */
export class ForeignDatabaseError extends Error {}

/**
 * Make sure the file is an mq-archive database of the given kind (its
 * `application_id`) and run `migrate` inside one IMMEDIATE transaction when
 * its schema is older than `version`, so two processes creating the same
 * file at once cannot race. A database of another application, or another
 * kind of ours, is refused untouched.
 */
export function ensureSchema(db: Db, kind: { applicationId: number; name: string }, version: number, migrate: (from: number) => void): void {
  const check = (): number => {
    const appId = db.pragma("application_id", { simple: true }) as number;
    const current = db.pragma("user_version", { simple: true }) as number;
    const tables = db.prepare("SELECT count(*) FROM sqlite_master").pluck().get() as number;
    if (appId !== kind.applicationId && (appId !== 0 || current !== 0 || tables > 0)) {
      throw new ForeignDatabaseError(`not an mq-archive ${kind.name} (it is another SQLite database)`);
    }
    if (current > version) {
      throw new ForeignDatabaseError(`its schema version ${current} is newer than this mq-archive understands (${version})`);
    }
    return current;
  };
  if (check() === version) return;
  db.transaction(() => {
    const again = check();
    if (again >= version) return;
    migrate(again);
    db.pragma(`application_id = ${kind.applicationId}`);
    db.pragma(`user_version = ${version}`);
  }).immediate();
}

/**
 * An object whose values are made on first use and kept: statements
 * prepared lazily, since a one-shot `publish` needs three of thirty.
 */
export function lazy<T extends Record<string, () => unknown>>(makers: T): { readonly [K in keyof T]: ReturnType<T[K]> } {
  const out = {} as { [K in keyof T]: ReturnType<T[K]> };
  for (const [name, make] of Object.entries(makers)) {
    Object.defineProperty(out, name, {
      get() {
        const value = make();
        Object.defineProperty(out, name, { value });
        return value;
      },
      configurable: true,
      enumerable: true,
    });
  }
  return out;
}

/** `PRAGMA quick_check`: null when the database is sound, else what is wrong. */
export function quickCheck(db: Db): string | null {
  const rows = db.pragma("quick_check") as Array<{ quick_check: string }>;
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
  return problems.length === 0 ? null : problems.slice(0, 5).join("; ");
}

export type SqliteCondition = "busy" | "full" | "corrupt" | "unusable" | "other";

export function classifySqliteError(err: unknown): SqliteCondition {
  if (err instanceof ForeignDatabaseError) return "corrupt";
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return "other";
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return "busy";
  if (code === "SQLITE_FULL" || code === "SQLITE_IOERR_WRITE" && /space/i.test(String(err))) return "full";
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB") return "corrupt";
  if (
    code.startsWith("SQLITE_CANTOPEN") ||
    code.startsWith("SQLITE_READONLY") ||
    code.startsWith("SQLITE_IOERR") ||
    code === "SQLITE_PERM" ||
    code === "SQLITE_AUTH"
  ) {
    return "unusable";
  }
  return "other";
}

/** Makes the error a store throws for a SQLite failure of the given condition. */
export type SqliteErrorFactory = (condition: SqliteCondition, detail: string, cause: unknown) => Error;

/** Runs a database step, turning SQLite failures into the store's own errors. */
export type Guard = <T>(step: () => T) => T;

/**
 * A guard for one store: what a step throws becomes `toError`'s error
 * (classified, its cause chained), except errors of class `own`, which are
 * already the store's and pass unchanged.
 */
export function sqliteGuard(own: abstract new (...args: never[]) => Error, toError: SqliteErrorFactory): Guard {
  return <T>(step: () => T): T => {
    try {
      return step();
    } catch (err) {
      if (err instanceof own) throw err;
      throw toError(classifySqliteError(err), err instanceof Error ? err.message : String(err), err);
    }
  };
}
