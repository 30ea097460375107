// The outbox's ledger: one compact row per record ever committed (list,
// seq, an 8-byte digest of its Message-ID), kept when pruning deletes the
// record's body, so `verify` can compare an archive with everything the
// outbox ever held. A row costs about 20 bytes on disk (a list id, the
// seq, the digest, b-tree overhead); the list names are stored once.
//
// Range answers are sums over the rows of one list and seq range: their
// count and the sums (mod 2^32) of each digest's two halves. A subscriber
// computes the same over its `archived` table (whose keys begin with the
// same 8 bytes), so equal answers mean equal sets with near certainty.

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

function asInt64(d: Digest): bigint {
  return (BigInt(d.hi) << 32n) | BigInt(d.lo);
}

export const LEDGER_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ledger_lists (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
  CREATE TABLE IF NOT EXISTS ledger (
    list INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    digest INTEGER NOT NULL,
    PRIMARY KEY (list, seq)
  ) WITHOUT ROWID;
`;

export class Ledger {
  private readonly stmts;
  private readonly ids = new Map<string, number>();

  constructor(private readonly db: Db) {
    this.stmts = lazy({
      listId: () => db.prepare("SELECT id FROM ledger_lists WHERE name = ?").pluck(),
      addList: () => db.prepare("INSERT INTO ledger_lists (name) VALUES (?)"),
      insert: () => db.prepare("INSERT OR IGNORE INTO ledger (list, seq, digest) VALUES (?, ?, ?)"),
      sum: () =>
        db.prepare(
          `SELECT count(*) AS n, coalesce(sum(digest >> 32), 0) & 4294967295 AS hi, coalesce(sum(digest & 4294967295), 0) & 4294967295 AS lo
             FROM (SELECT digest FROM ledger WHERE list = ? AND seq BETWEEN ? AND ? LIMIT ?)`,
        ),
      entries: () =>
        db.prepare("SELECT seq, digest >> 32 AS hi, digest & 4294967295 AS lo FROM ledger WHERE list = ? AND seq BETWEEN ? AND ? ORDER BY seq LIMIT ?"),
      names: () => db.prepare("SELECT name FROM ledger_lists WHERE name > ? ORDER BY name LIMIT ?").pluck(),
    });
  }

  /** Inside the write transaction that committed the record. */
  record(list: string, seq: number, messageId: string): void {
    this.stmts.insert.run(this.idOf(list, true), seq, asInt64(digestOf(messageId)));
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

  /** The sum over each range [from, to] of `list`; a list the ledger never held sums to zero. */
  sums(list: string, ranges: ReadonlyArray<readonly [number, number]>): RangeSum[] {
    return ranges.map(([from, to]) => this.sum(list, from, to, Number.MAX_SAFE_INTEGER) as RangeSum);
  }

  /** The sum over [from, to] of `list`, or null when the range holds more than `maxRows` rows (the caller splits it). */
  sum(list: string, from: number, to: number, maxRows: number): RangeSum | null {
    const id = this.idOf(list, false);
    if (id === undefined) return [0, 0, 0];
    const r = this.stmts.sum.get(id, from, to, maxRows + 1) as { n: number; hi: number; lo: number };
    return r.n > maxRows ? null : [r.n, r.hi, r.lo];
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

  /** Build the ledger from the records an outbox holds (the schema 5 upgrade), and say from which seq it knows them. */
  static buildFrom(db: Db): void {
    const first = db.prepare("SELECT min(seq) FROM records").pluck().get() as number | null;
    const head = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'records'").pluck().get() as number | undefined) ?? 0;
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('ledger_since', ?)").run(String(first ?? head + 1));
    const ledger = new Ledger(db);
    // In chunks: a statement may not run while another one's rows are being read.
    const chunk = db.prepare("SELECT seq, list, message_id FROM records WHERE seq > ? ORDER BY seq LIMIT 10000");
    for (let after = 0; ; ) {
      const rows = chunk.all(after) as Array<{ seq: number; list: string; message_id: string }>;
      for (const row of rows) ledger.record(row.list, row.seq, row.message_id);
      const last = rows.at(-1);
      if (last === undefined) return;
      after = last.seq;
    }
  }
}
