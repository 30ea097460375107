// Opening SQLite databases the one way this project needs them: WAL, a busy
// timeout, explicit fsync policy, and a schema version. Also maps SQLite's
// error codes onto the conditions callers act on.

import Database from "better-sqlite3";

export type Db = Database.Database;

export type Durability = "full" | "normal";

export interface OpenOptions {
  /** Create the file if it does not exist. */
  create: boolean;
  readonly?: boolean;
  durability: Durability;
  busyTimeoutMs?: number;
}

export function openDatabase(path: string, options: OpenOptions): Db {
  const db = new Database(path, {
    fileMustExist: !options.create,
    readonly: options.readonly ?? false,
  });
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 30_000}`);
    if (!options.readonly) {
      const mode = db.pragma("journal_mode = WAL", { simple: true });
      if (String(mode).toLowerCase() !== "wal") throw new Error(`cannot switch ${path} to WAL (got ${String(mode)})`);
      db.pragma(`synchronous = ${options.durability === "full" ? "FULL" : "NORMAL"}`);
    }
    db.pragma("foreign_keys = ON");
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Run `migrate` inside one IMMEDIATE transaction when the schema is older than
 * `version`, so two processes creating the same file at once cannot race.
 */
export function ensureSchema(db: Db, version: number, migrate: (from: number) => void): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current === version) return;
  if (current > version) {
    throw new Error(`database schema version ${current} is newer than this mq-archive understands (${version})`);
  }
  db.transaction(() => {
    const again = db.pragma("user_version", { simple: true }) as number;
    if (again >= version) return;
    migrate(again);
    db.pragma(`user_version = ${version}`);
  }).immediate();
}

/** `PRAGMA quick_check`: null when the database is sound, else what is wrong. */
export function quickCheck(db: Db): string | null {
  const rows = db.pragma("quick_check") as Array<{ quick_check: string }>;
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
  return problems.length === 0 ? null : problems.slice(0, 5).join("; ");
}

export type SqliteCondition = "busy" | "full" | "corrupt" | "unusable" | "other";

export function classifySqliteError(err: unknown): SqliteCondition {
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
