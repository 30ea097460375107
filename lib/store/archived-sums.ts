// Running totals of a subscriber's archived entries, per (outbox, list) in
// seq order, so `verify` sums any range in two index seeks (store/ledger.ts
// keeps the same on the publisher's side). Without them verify read every
// archived entry of each list into memory first (about 1.1 µs an entry:
// 1.1 s for a million).
//
// A row per archived seq: `n` entries so far and the sums of their digests'
// halves, as signed 32-bit integers. Written in the transaction that writes
// the archived rows (archived.ts flush), counting only rows really
// inserted (an INSERT OR IGNORE that found the Message-ID archived already
// adds nothing). Entries of a list normally come in increasing seq and are
// appended after its last row (one seek per list per flush); an older seq
// (`verify --repair` stores missing records late) is inserted with the
// totals before it, and the rows after it are shifted by its digest.
//
// (outbox, list) pairs are named once in `archived_lists` and rows refer to
// them by a small integer: the outbox id (36 bytes) and the list name are
// not repeated in every row. Measured: 27.2 bytes an entry (1,000,000
// entries over 1,000 lists; `archived` itself: 80.3), and a state commit
// of archived entries about 5 µs an entry dearer (9.5–10.1 → 14.3–15.4
// µs, 200,000 entries over 1,000 lists), most of it the row's INSERT.

import { ENDS, rangeSum, WRAP, type RangeSum, type Totals } from "./ledger.js";
import { lazy, type Db } from "./sqlite.js";

export const ARCHIVED_SUMS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS archived_lists (
    id INTEGER PRIMARY KEY,
    outbox TEXT NOT NULL,
    list TEXT NOT NULL,
    UNIQUE (outbox, list)
  );
  CREATE TABLE IF NOT EXISTS archived_sums (
    list INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    hs INTEGER NOT NULL,
    ls INTEGER NOT NULL,
    PRIMARY KEY (list, seq)
  ) WITHOUT ROWID;
`;

/** An entry the archived table really took. */
export interface CountedEntry {
  outbox: string;
  list: string;
  seq: number;
  /** The archive key (16 bytes): its first 8 are the digest. */
  key: Buffer;
}

const NONE: Totals = { seq: 0, n: 0, hs: 0, ls: 0 };

export class ArchivedSums {
  private readonly stmts;
  /** (outbox, list) → id: ids are never deleted or reused, so a known one stays right. */
  private readonly ids = new Map<string, number>();

  constructor(db: Db) {
    this.stmts = lazy({
      id: () => db.prepare("SELECT id FROM archived_lists WHERE outbox = ? AND list = ?").pluck(),
      addId: () => db.prepare("INSERT INTO archived_lists (outbox, list) VALUES (?, ?)"),
      last: () => db.prepare("SELECT seq, n, hs, ls FROM archived_sums WHERE list = ? ORDER BY seq DESC LIMIT 1"),
      below: () => db.prepare("SELECT seq, n, hs, ls FROM archived_sums WHERE list = ? AND seq < ? ORDER BY seq DESC LIMIT 1"),
      ends: () => db.prepare(ENDS("archived_sums")),
      insert: () => db.prepare("INSERT INTO archived_sums (list, seq, n, hs, ls) VALUES (?, ?, ?, ?, ?)"),
      insertIgnore: () => db.prepare("INSERT OR IGNORE INTO archived_sums (list, seq, n, hs, ls) VALUES (?, ?, ?, ?, ?)"),
      shift: () =>
        db.prepare(`UPDATE archived_sums SET n = n + 1, hs = ${WRAP("hs + ?")}, ls = ${WRAP("ls + ?")} WHERE list = ? AND seq >= ?`),
      lists: () =>
        db
          .prepare(
            `SELECT list FROM archived_lists AS l WHERE outbox = ? AND EXISTS (SELECT 1 FROM archived_sums AS s WHERE s.list = l.id) ORDER BY list`,
          )
          .pluck(),
    });
  }

  /** Count entries the archived table just took, inside the transaction that inserted them. */
  add(entries: readonly CountedEntry[]): void {
    const groups = new Map<string, CountedEntry[]>();
    for (const e of entries) {
      const k = `${e.outbox}\n${e.list}`;
      const group = groups.get(k);
      if (group === undefined) groups.set(k, [e]);
      else group.push(e);
    }
    for (const group of groups.values()) {
      group.sort((a, b) => a.seq - b.seq);
      const first = group[0]!;
      const id = this.idOf(first.outbox, first.list, true);
      const last = (this.stmts.last.get(id) as Totals | undefined) ?? NONE;
      if (first.seq > last.seq && group.every((e, i) => i === 0 || e.seq > group[i - 1]!.seq)) this.append(id, last, group);
      else for (const e of group) this.insertOlder(id, e);
    }
  }

  /** After the list's last row, in increasing seq: one insert each. */
  private append(id: number, last: Totals, group: readonly CountedEntry[]): void {
    let { n, hs, ls } = last;
    for (const e of group) {
      n++;
      hs = (hs + e.key.readInt32BE(0)) | 0; // | 0: the sum mod 2^32, as a signed 32-bit integer
      ls = (ls + e.key.readUInt32BE(4)) | 0;
      this.stmts.insert.run(id, e.seq, n, hs, ls);
    }
  }

  /** At or below the list's last row: a row for its seq (if none yet) with the totals before it, then it and every later row count the entry. */
  private insertOlder(id: number, e: CountedEntry): void {
    const before = (this.stmts.below.get(id, e.seq) as Totals | undefined) ?? NONE;
    this.stmts.insertIgnore.run(id, e.seq, before.n, before.hs, before.ls);
    this.stmts.shift.run(e.key.readInt32BE(0), e.key.readUInt32BE(4), id, e.seq);
  }

  /** The sum over [from, to] of the entries of `list` archived from `outbox`: two seeks (ledger.ts ENDS). */
  sum(outbox: string, list: string, from: number, to: number): RangeSum {
    const id = this.idOf(outbox, list, false);
    if (id === undefined || to < from) return [0, 0, 0];
    // One statement, one read snapshot: a `subscribe` or `verify --repair` may be writing the state meanwhile.
    return rangeSum(this.stmts.ends.all({ id, to, from }) as Array<Totals & { top: number }>);
  }

  /** The lists with entries archived from `outbox`, in order: a row per list, not per entry. */
  lists(outbox: string): string[] {
    return this.stmts.lists.all(outbox) as string[];
  }

  private idOf(outbox: string, list: string, create: true): number;
  private idOf(outbox: string, list: string, create: false): number | undefined;
  private idOf(outbox: string, list: string, create: boolean): number | undefined {
    const k = `${outbox}\n${list}`;
    const known = this.ids.get(k);
    if (known !== undefined) return known;
    let id = this.stmts.id.get(outbox, list) as number | undefined;
    if (id === undefined) {
      if (!create) return undefined;
      id = Number(this.stmts.addId.run(outbox, list).lastInsertRowid);
    }
    this.ids.set(k, id);
    return id;
  }
}

/**
 * (Re)compute every running total from the archived table, in one
 * statement (the state schema 2 upgrade): per (outbox, list), entries of
 * the same seq together, in seq order, by window sums. Ids of
 * archived_lists are kept (ArchivedSums caches them).
 */
export function fillArchivedSums(db: Db): void {
  db.function("mq_digest_hi", { deterministic: true }, (key) => (key as Buffer).readInt32BE(0));
  db.function("mq_digest_lo", { deterministic: true }, (key) => (key as Buffer).readUInt32BE(4));
  db.exec(`
    INSERT OR IGNORE INTO archived_lists (outbox, list) SELECT DISTINCT outbox, list FROM archived ORDER BY outbox, list;
    DELETE FROM archived_sums;
    INSERT INTO archived_sums (list, seq, n, hs, ls)
      SELECT id, seq, sum(c) OVER w, ${WRAP("sum(h) OVER w")}, ${WRAP("sum(l) OVER w")}
        FROM (SELECT l.id AS id, a.seq AS seq, count(*) AS c, sum(mq_digest_hi(a.mid_hash)) AS h, sum(mq_digest_lo(a.mid_hash)) AS l
                FROM archived AS a JOIN archived_lists AS l ON l.outbox = a.outbox AND l.list = a.list
                GROUP BY l.id, a.seq)
        WINDOW w AS (PARTITION BY id ORDER BY seq)
        ORDER BY id, seq;
  `);
}
