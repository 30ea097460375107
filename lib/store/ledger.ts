// The outbox's ledger: one compact row per record ever committed (list,
// seq, an 8-byte digest of its Message-ID), kept when pruning deletes the
// record's body, so `verify` can compare an archive with everything the
// outbox ever held.
//
// Range answers are sums over the rows of one list and seq range: their
// count and the sums (mod 2^32) of each digest's two halves. A subscriber
// computes the same over its archived entries (whose keys begin with the
// same 8 bytes), so equal answers mean equal sets with near certainty.
//
// Each row also carries its list's running totals up to and including it
// (schema 6): `n` rows so far and the two half-sums mod 2^32, stored as
// signed 32-bit integers so SQLite keeps each in at most 4 bytes. A range's
// sum is then the totals at its last row minus those before its first: two
// index seeks whatever the range holds (schema 5 read every row of the
// range, about 0.2 s per million). The totals are written in the record's
// own transaction: `record` reads the list's last row (one seek, never
// cached past the transaction: several processes may write the outbox;
// `batch` keeps it for one bulk transaction) and appends after it. A
// row below the list's last seq (never seen in practice: seqs only grow)
// is still counted right: the rows after it are shifted by its digest.
// A row costs about 39 bytes on disk (1,000,000 records over 1,000 lists:
// 38.95 MB of ledger pages; schema 5's rows without totals: 21.8); the
// list names are stored once.

import { createRequire } from "node:module";
import { lazy, type Db } from "./sqlite.js";

/** A digest as two 32-bit halves: `hi` signed (the int64's upper half), `lo` unsigned. */
export interface Digest {
  hi: number;
  lo: number;
}

/** count and the halves' sums mod 2^32 (both unsigned) over a range. */
export type RangeSum = [count: number, hi: number, lo: number];

export interface LedgerEntry {
  seq: number;
  hi: number;
  lo: number;
}

let sha256Fn: ((data: string) => Buffer) | null = null;

/** node:crypto loaded on first use: a cold `publish` starts faster without it (see message/rfc5322.ts). */
function sha256(data: string): Buffer {
  if (sha256Fn === null) {
    const crypto = createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto");
    sha256Fn =
      typeof crypto.hash === "function"
        ? (d) => crypto.hash("sha256", d, "buffer")
        : (d) => crypto.createHash("sha256").update(d).digest();
  }
  return sha256Fn(data);
}

/** The first 8 bytes of sha256(Message-ID): the first half of the subscriber's 16-byte archive key. */
export function digestOf(messageId: string): Digest {
  return digestOfKey(sha256(messageId));
}

/** The digest of a subscriber's archive key (16 bytes of sha256). */
export function digestOfKey(key: Buffer): Digest {
  return { hi: key.readInt32BE(0), lo: key.readUInt32BE(4) };
}

/** SQL for a running total kept as a signed 32-bit integer (SQLite stores it in 4 bytes at most). */
export const WRAP = (x: string): string => `((${x} + 2147483648) & 4294967295) - 2147483648`;

export const LEDGER_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ledger_lists (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
  CREATE TABLE IF NOT EXISTS ledger (
    list INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    digest INTEGER NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    hs INTEGER NOT NULL DEFAULT 0,
    ls INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (list, seq)
  ) WITHOUT ROWID;
`;

/** A list's running totals at one row: rows so far and the halves' sums, as signed 32-bit. */
export interface Totals {
  seq: number;
  n: number;
  hs: number;
  ls: number;
}

/**
 * SQL for the totals at both ends of a range of list @id in one
 * statement, so both come from one read snapshot: the last row at or
 * below @to (top = 1) and the last row below @from (top = 0).
 */
export const ENDS = (table: string): string => `
  SELECT 1 AS top, * FROM (SELECT seq, n, hs, ls FROM ${table} WHERE list = @id AND seq <= @to ORDER BY seq DESC LIMIT 1)
  UNION ALL
  SELECT 0 AS top, * FROM (SELECT seq, n, hs, ls FROM ${table} WHERE list = @id AND seq < @from ORDER BY seq DESC LIMIT 1)`;

/** The sum between the ENDS rows: count and the halves' sums mod 2^32 (unsigned). */
export function rangeSum(rows: ReadonlyArray<Totals & { top: number }>): RangeSum {
  const end = rows.find((r) => r.top === 1);
  if (end === undefined) return [0, 0, 0];
  const start = rows.find((r) => r.top === 0) ?? { n: 0, hs: 0, ls: 0 };
  return [end.n - start.n, (end.hs - start.hs) >>> 0, (end.ls - start.ls) >>> 0];
}

export class Ledger {
  private readonly stmts;
  private readonly ids = new Map<string, number>();
  /** Inside batch(): each list's last row as this transaction wrote it. */
  private lastRows: Map<number, Totals> | null = null;

  constructor(private readonly db: Db) {
    this.stmts = lazy({
      listId: () => db.prepare("SELECT id FROM ledger_lists WHERE name = ?").pluck(),
      addList: () => db.prepare("INSERT INTO ledger_lists (name) VALUES (?)"),
      last: () => db.prepare("SELECT seq, n, hs, ls FROM ledger WHERE list = ? ORDER BY seq DESC LIMIT 1"),
      // The digest is put together in SQL from its halves: no BigInt per record.
      insert: () =>
        db.prepare("INSERT OR IGNORE INTO ledger (list, seq, digest, n, hs, ls) VALUES (?, ?, (? << 32) | ?, ?, ?, ?)"),
      atOrBelow: () => db.prepare("SELECT seq, n, hs, ls FROM ledger WHERE list = ? AND seq <= ? ORDER BY seq DESC LIMIT 1"),
      // Both ends of a range in one statement: one read snapshot, however a writer interleaves.
      ends: () => db.prepare(ENDS("ledger")),
      shift: () =>
        db.prepare(`UPDATE ledger SET n = n + 1, hs = ${WRAP("hs + ?")}, ls = ${WRAP("ls + ?")} WHERE list = ? AND seq > ?`),
      entries: () =>
        db.prepare("SELECT seq, digest >> 32 AS hi, digest & 4294967295 AS lo FROM ledger WHERE list = ? AND seq BETWEEN ? AND ? ORDER BY seq LIMIT ?"),
      names: () => db.prepare("SELECT name FROM ledger_lists WHERE name > ? ORDER BY name LIMIT ?").pluck(),
    });
  }

  /** Inside the write transaction that committed the record. */
  record(list: string, seq: number, messageId: string): void {
    const id = this.idOf(list, true);
    const { hi, lo } = digestOf(messageId);
    const last = this.lastRows?.get(id) ?? (this.stmts.last.get(id) as Totals | undefined);
    if (last === undefined || seq > last.seq) {
      const next = { seq, n: (last?.n ?? 0) + 1, hs: ((last?.hs ?? 0) + hi) | 0, ls: ((last?.ls ?? 0) + lo) | 0 }; // | 0: mod 2^32, signed
      this.stmts.insert.run(id, seq, hi, lo, next.n, next.hs, next.ls);
      this.lastRows?.set(id, next);
      return;
    }
    // Below the list's last row: counted from the row before it, and every row after it counts it too.
    const before = this.stmts.atOrBelow.get(id, seq) as Totals | undefined;
    if (before?.seq === seq) return; // already recorded (the INSERT would be ignored)
    this.stmts.insert.run(id, seq, hi, lo, (before?.n ?? 0) + 1, ((before?.hs ?? 0) + hi) | 0, ((before?.ls ?? 0) + lo) | 0);
    this.stmts.shift.run(hi, lo, id, seq);
    this.lastRows?.delete(id); // shifted: read again
  }

  /**
   * Run `fn`, which records many rows, inside one write transaction that it
   * does not partly roll back: each list's last row is read once, not once
   * a record (that seek cost a bulk import about 3.5 µs a record, 16 %).
   * Nothing is kept past `fn`: the next transaction may follow another
   * process's writes.
   */
  batch<T>(fn: () => T): T {
    if (!this.db.inTransaction) throw new Error("Ledger.batch runs inside a write transaction");
    this.lastRows = new Map();
    try {
      return fn();
    } finally {
      this.lastRows = null;
    }
  }

  private idOf(list: string, create: true): number;
  private idOf(list: string, create: false): number | undefined;
  private idOf(list: string, create: boolean): number | undefined {
    const known = this.ids.get(list);
    if (known !== undefined) return known;
    let id = this.stmts.listId.get(list) as number | undefined;
    if (id === undefined) {
      if (!create) return undefined; // not cached: another process may add it later
      id = Number(this.stmts.addList.run(list).lastInsertRowid);
    }
    this.ids.set(list, id);
    return id;
  }

  /** The sum over [from, to] of `list`: the running totals at `to` less those before `from` (two seeks); a list the ledger never held sums to zero. */
  sum(list: string, from: number, to: number): RangeSum {
    const id = this.idOf(list, false);
    if (id === undefined || to < from) return [0, 0, 0];
    return rangeSum(this.stmts.ends.all({ id, to, from }) as Array<Totals & { top: number }>);
  }

  /** Up to `limit` rows of `list` in [from, to], in seq order. */
  entries(list: string, from: number, to: number, limit: number): LedgerEntry[] {
    const id = this.idOf(list, false);
    if (id === undefined) return [];
    return this.stmts.entries.all(id, from, to, limit) as LedgerEntry[];
  }

  /** Up to `limit` list names after `after`, in order. */
  names(after: string, limit: number): string[] {
    return this.stmts.names.all(after, limit) as string[];
  }

  /** The first seq the ledger knows of: records below it were pruned before the outbox had a ledger. */
  since(): number {
    const value = this.db.prepare("SELECT value FROM meta WHERE key = 'ledger_since'").pluck().get() as string | undefined;
    return value === undefined ? 1 : Number(value);
  }

  /**
   * Fill the running totals of a schema-5 ledger (the schema 6 upgrade),
   * in one statement: per list, in seq order, by window sums.
   */
  static addTotals(db: Db): void {
    const columns = (db.prepare("SELECT name FROM pragma_table_info('ledger')").pluck().all() as string[]);
    for (const c of ["n", "hs", "ls"]) {
      if (!columns.includes(c)) db.exec(`ALTER TABLE ledger ADD COLUMN ${c} INTEGER NOT NULL DEFAULT 0`);
    }
    db.exec(`
      UPDATE ledger SET n = t.n, hs = ${WRAP("t.hs")}, ls = ${WRAP("t.ls")}
        FROM (SELECT list, seq, count(*) OVER w AS n, sum(digest >> 32) OVER w AS hs, sum(digest & 4294967295) OVER w AS ls
                FROM ledger WINDOW w AS (PARTITION BY list ORDER BY seq)) AS t
        WHERE ledger.list = t.list AND ledger.seq = t.seq
    `);
  }

  /** Build the ledger from the records an outbox holds (the schema 5 upgrade), and say from which seq it knows them. */
  static buildFrom(db: Db): void {
    const first = db.prepare("SELECT min(seq) FROM records").pluck().get() as number | null;
    const head = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'records'").pluck().get() as number | undefined) ?? 0;
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('ledger_since', ?)").run(String(first ?? head + 1));
    const ledger = new Ledger(db);
    // In chunks: a statement may not run while another one's rows are being read.
    const chunk = db.prepare("SELECT seq, list, message_id FROM records WHERE seq > ? ORDER BY seq LIMIT 10000");
    ledger.batch(() => {
      for (let after = 0; ; ) {
        const rows = chunk.all(after) as Array<{ seq: number; list: string; message_id: string }>;
        for (const row of rows) ledger.record(row.list, row.seq, row.message_id);
        const last = rows.at(-1);
        if (last === undefined) return;
        after = last.seq;
      }
    });
  }
}
