// The outbox's record log: one row per record, a global seq that is never
// reused, dedupe on (list, Message-ID), reads in seq order, and pruning
// within bounds the caller sets. `RecordLog` is the contract every record
// log keeps (spec/store/record-log-contract.ts checks it); SqliteRecordLog
// keeps it in the outbox's `records` table.

import { utimesSync, writeFileSync } from "node:fs";
import type { BodyRecord, RecordKind } from "../message/record.js";
import { Ledger } from "./ledger.js";
import { TOTALS_SINCE_VERSION } from "./outbox-schema.js";
import { lazy, type Db, type Guard } from "./sqlite.js";

/** The file `append` touches after each commit, beside the outbox. */
export function wakeFile(dbPath: string): string {
  return `${dbPath}-wake`;
}

/**
 * Tell a watching `serve` that a commit is visible now. SQLite's WAL write
 * comes before the commit's fsync and its wal-index update, which no file
 * watch sees; touching this file after the commit does.
 */
export function wakeServe(dbPath: string): void {
  const file = wakeFile(dbPath);
  const now = new Date();
  try {
    utimesSync(file, now, now); // setting times needs ownership: another user of a shared outbox writes instead
  } catch {
    try {
      writeFileSync(file, ""); // creates it, or truncates it: a modification a watch sees
    } catch {
      /* serve's poll will notice */
    }
  }
}

export interface NewRecord {
  list: string;
  messageId: string;
  body: Buffer;
  kind?: RecordKind;
}

/** A record as the outbox holds it: its size is the body's, kept in the row so scans need not read bodies. */
export interface OutboxRecord extends BodyRecord {
  size: number;
}

export interface AppendResult {
  seq: number;
  duplicate: boolean;
}

export interface ReadLimits {
  /** At most this many records. */
  limit: number;
  /** Stop once this many body bytes are read (at least one record is returned). */
  maxBytes: number;
}

/** What pruning may delete: records at or below `through` received before `before` (ms). */
export interface PruneBounds {
  through: number;
  before: number;
}

export interface RecordLog {
  /** Commit one record (or find the existing one with the same list and Message-ID). */
  append(record: NewRecord): AppendResult;
  /** Commit many records at once (deduplicated against each other too). */
  appendMany(records: readonly NewRecord[]): AppendResult[];
  /** The last seq ever assigned (0 when none), whether or not it is still retained. */
  head(): number;
  /** The oldest retained seq, or 0 when the log holds no record. */
  first(): number;
  /** Records after `after`, in seq order, within the limits. */
  readAfter(after: number, limits: ReadLimits): OutboxRecord[];
  /**
   * Records after `after` whose list passes `accept`, in seq order. Bodies of
   * refused lists are never read. Scans at most `scan` records; `scanned` is
   * the last seq looked at, so a caller can resume past a long run of refused ones.
   */
  readAfterFiltered(
    after: number,
    accept: (list: string) => boolean,
    limits: ReadLimits & { scan: number },
  ): { records: OutboxRecord[]; scanned: number };
  /** Delete the records within `bounds`; returns how many were deleted. Seqs are never reused. */
  prune(bounds: PruneBounds): number;
  /** The lowest seq of a record whose list passes `accept` received at or after `at` (ms), or null when none is. */
  firstReceivedSince(at: number, accept: (list: string) => boolean): number | null;
}

type Row = {
  seq: number;
  kind: RecordKind;
  list: string;
  message_id: string;
  received_at: number;
  size: number;
  body: Buffer;
};

/** Records pruned per statement, so writers never wait long. */
const PRUNE_CHUNK = 1000;

export class SqliteRecordLog implements RecordLog {
  private readonly stmts;
  /** The highest seq the last prune() deleted (0: none yet). */
  lastPruned = 0;
  /** A row per record ever committed, written in the same transaction as the record (ledger.ts). */
  readonly ledger: Ledger;

  constructor(
    private readonly path: string,
    private readonly db: Db,
    private readonly guard: Guard,
  ) {
    this.stmts = prepare(db);
    this.ledger = new Ledger(db);
  }

  append(record: NewRecord): AppendResult {
    const result = this.guard(() =>
      this.db.transaction(() => {
        const r = this.appendOne(record, Date.now());
        if (!r.duplicate) this.addToTotals([record]);
        return r;
      }).immediate(),
    );
    if (!result.duplicate) this.wake();
    return result;
  }

  /** In one transaction (one fsync): the bulk-import path. */
  appendMany(records: readonly NewRecord[]): AppendResult[] {
    return this.guard(() => {
      const now = Date.now();
      const results = this.db
        .transaction(() => {
          const appended = this.ledger.batch(() => records.map((r) => this.appendOne(r, now)));
          this.addToTotals(records.filter((_, i) => !appended[i]!.duplicate));
          return appended;
        })
        .immediate();
      if (results.some((r) => !r.duplicate)) this.wake();
      return results;
    });
  }

  private wake(): void {
    wakeServe(this.path);
  }

  /** Inside the write transaction that inserted them: the running totals (schema 4) count them. */
  private addToTotals(records: readonly NewRecord[], sign = 1): void {
    if (records.length === 0) return;
    let events = 0;
    let bytes = 0;
    for (const r of records) {
      if (r.kind === "event") events++;
      bytes += r.body.length;
    }
    this.stmts.addTotals.run(sign * records.length, sign * events, sign * bytes);
  }

  /** Inside a write transaction. Looks before inserting: an ignored INSERT would still burn a seq. */
  private appendOne(record: NewRecord, now: number): AppendResult {
    const existing = this.stmts.findByMessageId.get(record.list, record.messageId) as number | undefined;
    if (existing !== undefined) return { seq: existing, duplicate: true };
    const kind = record.kind ?? "message";
    const info = this.stmts.insert.run(kind, record.list, record.messageId, now, record.body.length, record.body);
    const seq = Number(info.lastInsertRowid);
    this.ledger.record(record.list, seq, record.messageId);
    return { seq, duplicate: false };
  }

  head(): number {
    return this.guard(() => (this.stmts.head.get() as number | undefined) ?? 0);
  }

  first(): number {
    return this.guard(() => (this.stmts.first.get() as number | null | undefined) ?? 0);
  }

  readAfter(after: number, limits: ReadLimits): OutboxRecord[] {
    return this.guard(() => {
      const out: OutboxRecord[] = [];
      let bytes = 0;
      for (const row of this.stmts.readAfter.iterate(after, limits.limit) as Iterable<Row>) {
        out.push(toRecord(row));
        bytes += row.size;
        if (bytes >= limits.maxBytes) break;
      }
      return out;
    });
  }

  readAfterFiltered(
    after: number,
    accept: (list: string) => boolean,
    limits: ReadLimits & { scan: number },
  ): { records: OutboxRecord[]; scanned: number } {
    return this.guard(() => {
      const out: OutboxRecord[] = [];
      let bytes = 0;
      let scanned = after;
      for (const row of this.stmts.scanAfter.iterate(after, limits.scan) as Iterable<Omit<Row, "body">>) {
        scanned = row.seq;
        if (!accept(row.list)) continue;
        const body = this.stmts.body.get(row.seq) as Buffer | undefined;
        if (body === undefined) continue; // pruned between the two statements
        out.push(toRecord({ ...row, body }));
        bytes += row.size;
        if (out.length >= limits.limit || bytes >= limits.maxBytes) break;
      }
      return { records: out, scanned };
    });
  }

  /**
   * The retained records among `seqs` (a seq pruned or never assigned is
   * left out), until `maxBytes` of bodies are read; `through` is the last
   * seq looked at (the ones after it were not, for the byte limit).
   */
  readSeqs(seqs: readonly number[], maxBytes: number): { records: OutboxRecord[]; through: number } {
    return this.guard(() => {
      const records: OutboxRecord[] = [];
      let bytes = 0;
      let through = 0;
      for (const seq of seqs) {
        const row = this.stmts.bySeq.get(seq) as Row | undefined;
        if (row !== undefined) {
          if (records.length > 0 && bytes + row.size > maxBytes) break;
          records.push(toRecord(row));
          bytes += row.size;
        }
        through = seq;
      }
      return { records, through };
    });
  }

  /** The Message-ID of a retained record. */
  messageIdOf(seq: number): string | undefined {
    return this.guard(() => this.stmts.messageId.get(seq) as string | undefined);
  }

  /** In chunks, each its own transaction. */
  prune(bounds: PruneBounds): number {
    return this.guard(() => {
      let total = 0;
      const chunk = this.db.transaction((): number => {
        const gone = this.stmts.prune.all(bounds.through, bounds.before) as Array<{ seq: number; kind: RecordKind; size: number }>;
        for (const g of gone) this.lastPruned = Math.max(this.lastPruned, g.seq);
        if (gone.length > 0) {
          this.stmts.addTotals.run(-gone.length, -gone.filter((g) => g.kind === "event").length, -gone.reduce((n, g) => n + g.size, 0));
        }
        return gone.length;
      });
      for (;;) {
        const n = chunk.immediate();
        total += n;
        if (n < PRUNE_CHUNK) return total;
      }
    });
  }

  /** What is retained: records (of them `events` list events), their bytes, the first seq and the head. */
  stats(): { head: number; first: number; count: number; events: number; bytes: number } {
    return this.guard(() => {
      // An outbox older than its running totals (opened read-only, so not upgraded) is counted row by row.
      const totals = this.hasTotals ? this.stmts.totals : this.stmts.stats;
      const s = totals.get() as { count: number; events: number | null; bytes: number | null };
      return { head: this.head(), first: this.first(), count: s.count, events: s.events ?? 0, bytes: s.bytes ?? 0 };
    });
  }

  private get hasTotals(): boolean {
    return (this.db.pragma("user_version", { simple: true }) as number) >= TOTALS_SINCE_VERSION;
  }

  /** What a peer is missing: records after `acked` it would receive, their bytes and the oldest one's age. */
  lag(acked: number, accept: (list: string) => boolean): { records: number; bytes: number; oldest: number | null } {
    return this.guard(() => {
      let records = 0;
      let bytes = 0;
      let oldest: number | null = null;
      for (const row of this.stmts.lagScan.iterate(acked) as Iterable<{ list: string; size: number; received_at: number }>) {
        if (!accept(row.list)) continue;
        records++;
        bytes += row.size;
        oldest ??= row.received_at;
      }
      return { records, bytes, oldest };
    });
  }

  /**
   * Seq order follows received_at closely but not strictly (a writer stamps
   * its records before it gets the write lock), so no binary search on seq
   * is exact. The rule: the lowest seq whose received_at is at or after `at`
   * — exactly "the first record delivered is the first received at or after
   * that time"; a record stamped earlier that committed after it is still
   * delivered, never skipped. The scan reads the lag index (about 40 bytes a
   * record), never a row's page, and stops at the first match: it runs once,
   * for a peer's first session.
   */
  firstReceivedSince(at: number, accept: (list: string) => boolean): number | null {
    return this.guard(() => {
      for (const row of this.stmts.receivedSince.iterate(at) as Iterable<{ seq: number; list: string }>) {
        if (accept(row.list)) return row.seq;
      }
      return null;
    });
  }
}

function toRecord(row: Row): OutboxRecord {
  return {
    seq: row.seq,
    kind: row.kind,
    list: row.list,
    messageId: row.message_id,
    receivedAt: row.received_at,
    size: row.size,
    body: row.body,
  };
}

function prepare(db: Db) {
  const columns = "seq, kind, list, message_id, received_at, size";
  return lazy({
    insert: () => db.prepare("INSERT INTO records (kind, list, message_id, received_at, size, body) VALUES (?, ?, ?, ?, ?, ?)"),
    findByMessageId: () => db.prepare("SELECT seq FROM records WHERE list = ? AND message_id = ?").pluck(),
    head: () => db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'records'").pluck(),
    first: () => db.prepare("SELECT min(seq) FROM records").pluck(),
    readAfter: () => db.prepare(`SELECT ${columns}, body FROM records WHERE seq > ? ORDER BY seq LIMIT ?`),
    scanAfter: () => db.prepare(`SELECT ${columns} FROM records WHERE seq > ? ORDER BY seq LIMIT ?`),
    body: () => db.prepare("SELECT body FROM records WHERE seq = ?").pluck(),
    bySeq: () => db.prepare(`SELECT ${columns}, body FROM records WHERE seq = ?`),
    messageId: () => db.prepare("SELECT message_id FROM records WHERE seq = ?").pluck(),
    prune: () => db.prepare(
      `DELETE FROM records WHERE seq IN
         (SELECT seq FROM records WHERE seq <= ? AND received_at < ? ORDER BY seq LIMIT ${PRUNE_CHUNK})
       RETURNING seq, kind, size`,
    ),
    stats: () => db.prepare("SELECT count(*) AS count, sum(kind = 'event') AS events, sum(size) AS bytes FROM records"),
    totals: () => db.prepare("SELECT count, events, bytes FROM record_totals WHERE id = 0"),
    addTotals: () => db.prepare("UPDATE record_totals SET count = count + ?, events = events + ?, bytes = bytes + ? WHERE id = 0"),
    lagScan: () => db.prepare("SELECT list, size, received_at FROM records WHERE seq > ? ORDER BY seq"),
    receivedSince: () => db.prepare("SELECT seq, list FROM records INDEXED BY records_lag WHERE received_at >= ? ORDER BY seq"),
  });
}
