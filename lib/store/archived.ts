// The Message-IDs a subscriber has archived, per list, so a message that
// comes again as another record (republished after pruning, or from a new
// outbox after --accept-outbox) is not archived twice.
//
// Cheap on the hot path: lookups of new Message-IDs (nearly all of them)
// are answered by a Bloom filter, and new entries are written in sorted
// groups (every 8,192 entries or 250 ms, so at low rates a flush is short
// and holds the event loop only briefly) instead of at random spots in
// every commit. A crash may forget the last quarter second's entries: those
// messages would be archived again only if they came again as new records,
// never otherwise (a redelivered record is recognised by its seq and the
// sinks' names).

import * as crypto from "node:crypto";
import type { Statement } from "better-sqlite3";
import { ArchivedSums } from "./archived-sums.js";
import type { RangeSum } from "./ledger.js";
import type { Db } from "./sqlite.js";

/** A Message-ID archived in a list as record `seq`. */
export interface ArchivedEntry {
  list: string;
  messageId: string;
  seq: number;
  /** archiveKey(messageId), when the caller has it already. */
  key?: Buffer;
}

/** How a Message-ID is kept in the archived table: 16 bytes of its sha256. */
export function archiveKey(messageId: string): Buffer {
  return sha256(messageId).subarray(0, 16);
}

// crypto.hash (Node 20.12+) is the one-shot form, several times cheaper per call than a Hash object.
const sha256: (data: string) => Buffer =
  typeof crypto.hash === "function"
    ? (data) => crypto.hash("sha256", data, "buffer")
    : (data) => crypto.createHash("sha256").update(data).digest();

const FLUSH_ENTRIES = 8192;
/** Pending entries are written once this old: at the next commit, or by flushSoon's timer when none comes. */
const FLUSH_MS = 250;
const BITS_PER_ENTRY = 16;

class Bloom {
  private readonly bits: Uint8Array;
  readonly capacity: number;
  private count = 0;

  constructor(expected: number) {
    let m = 1 << 20;
    while (m < expected * 2 * BITS_PER_ENTRY) m *= 2;
    this.bits = new Uint8Array(m / 8);
    this.capacity = m / BITS_PER_ENTRY;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Four bit positions from the key's four words, mixed with a hash of the list (no allocation: called per record). */
  private probe(list: string, key: Buffer, set: boolean): boolean {
    let h = 0x811c9dc5;
    for (let i = 0; i < list.length; i++) h = Math.imul(h ^ list.charCodeAt(i), 0x01000193) >>> 0;
    const mask = this.bits.length * 8 - 1;
    let all = true;
    for (let o = 0; o < 16; o += 4) {
      const p = (key.readUInt32LE(o) ^ h) & mask;
      const bit = 1 << (p & 7);
      if (set) this.bits[p >>> 3]! |= bit;
      else if ((this.bits[p >>> 3]! & bit) === 0) all = false;
    }
    return all;
  }

  add(list: string, key: Buffer): void {
    this.count++;
    this.probe(list, key, true);
  }

  mayHave(list: string, key: Buffer): boolean {
    return this.probe(list, key, false);
  }
}

/** What `verify` reads of the archived entries of the followed outbox (verify/archive-view.ts). */
export interface ArchivedRows {
  lists(): string[];
  /** count and the digest halves' sums mod 2^32 over [from, to] (see store/ledger.ts). */
  sum(list: string, from: number, to: number): RangeSum;
  entries(list: string, from: number, to: number): Array<{ seq: number; key: Buffer }>;
}

export class ArchivedSet {
  private bloom: Bloom | null = null;
  /** Entries not written yet, in the order they came (a repeated key: the first one counts). */
  private pending: PendingEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly stmts;
  private entriesStmt: Statement | undefined;
  /** Running totals of the written entries, kept by flush (archived-sums.ts). */
  private readonly sums: ArchivedSums;

  constructor(private readonly db: Db) {
    this.sums = new ArchivedSums(db);
    this.stmts = {
      find: db.prepare("SELECT seq FROM archived WHERE list = ? AND mid_hash = ?").pluck(),
      count: db.prepare("SELECT count(*) FROM archived").pluck(),
      all: db.prepare("SELECT list, mid_hash FROM archived"),
      insert: db.prepare("INSERT OR IGNORE INTO archived (list, mid_hash, seq, outbox, archived_at) VALUES (?, ?, ?, ?, ?)"),
    };
  }

  /** The lists with entries archived from `outbox` (written ones: pending entries are flushed first by the caller). */
  listsOf(outbox: string): string[] {
    return this.sums.lists(outbox);
  }

  /** The sum over the written entries of `list` archived from `outbox` as records in [from, to]: two seeks. */
  sumOf(list: string, outbox: string, from: number, to: number): RangeSum {
    return this.sums.sum(outbox, list, from, to);
  }

  /** The written entries of `list` archived from `outbox` as records in [from, to], in seq order. */
  entriesOf(list: string, outbox: string, from: number, to: number): Array<{ seq: number; key: Buffer }> {
    this.entriesStmt ??= this.db.prepare(
      "SELECT seq, mid_hash AS key FROM archived WHERE list = ? AND outbox = ? AND seq BETWEEN ? AND ? ORDER BY seq",
    );
    return this.entriesStmt.all(list, outbox, from, to) as Array<{ seq: number; key: Buffer }>;
  }

  find(list: string, key: Buffer): number | undefined {
    if (!this.filter().mayHave(list, key)) return undefined; // the filter holds the pending entries too
    // Rare (a filter hit): a scan of the few thousand pending entries costs less than keying every entry.
    const pending = this.pending.find((e) => e.list === list && e.key.equals(key));
    if (pending) return pending.seq;
    return this.stmts.find.get(list, key) as number | undefined;
  }

  /** Remember entries whose records were just committed. */
  add(entries: readonly ArchivedEntry[], outbox: string, at: number): void {
    for (const e of entries) {
      const key = e.key ?? archiveKey(e.messageId);
      this.pending.push({ list: e.list, key, head: key.readUInt32BE(0), seq: e.seq, outbox, at });
      this.bloom?.add(e.list, key); // a filter not built yet is built from the table and the pending entries
    }
    if (this.bloom?.full) this.bloom = null; // rebuilt larger on the next lookup
  }

  /**
   * Write the pending entries within FLUSH_MS unless a commit does first:
   * without it they would wait for close, and a crash of an idle subscriber
   * would forget every entry since its last busy moment. A failed write
   * leaves them pending for the next commit or close, which says why.
   */
  flushSoon(): void {
    if (this.timer !== null || this.pending.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      try {
        if (this.db.open) this.flush();
      } catch {
        /* still pending */
      }
    }, FLUSH_MS);
    this.timer.unref();
  }

  cancelFlush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  flushDue(now: number): boolean {
    const oldest = this.pending[0];
    return oldest !== undefined && (this.pending.length >= FLUSH_ENTRIES || now - oldest.at >= FLUSH_MS);
  }

  /**
   * Write pending entries in key order, in one transaction (durable with the
   * next sync of the state), with the running totals of those the table took.
   */
  flush(): void {
    if (this.pending.length === 0) return;
    // Stable sort: of repeated keys the first added is inserted, the others ignored (and not counted).
    const entries = [...this.pending].sort(byListAndKey);
    this.db.transaction(() => {
      const taken = entries.filter((e) => this.stmts.insert.run(e.list, e.key, e.seq, e.outbox, e.at).changes > 0);
      this.sums.add(taken);
    }).immediate();
    this.pending = [];
  }

  private filter(): Bloom {
    if (this.bloom === null) {
      const rows = this.stmts.count.get() as number;
      const bloom = new Bloom(rows + this.pending.length);
      for (const row of this.stmts.all.iterate() as Iterable<{ list: string; mid_hash: Buffer }>) bloom.add(row.list, row.mid_hash);
      for (const e of this.pending) bloom.add(e.list, e.key);
      this.bloom = bloom;
    }
    return this.bloom;
  }
}

interface PendingEntry {
  list: string;
  key: Buffer;
  /** The key's first four bytes, so sorting seldom needs Buffer.compare (a native call each). */
  head: number;
  seq: number;
  outbox: string;
  at: number;
}

/** The table's key order, so a flush writes its pages in sequence. */
function byListAndKey(a: PendingEntry, b: PendingEntry): number {
  if (a.list !== b.list) return a.list < b.list ? -1 : 1;
  return a.head - b.head || Buffer.compare(a.key, b.key);
}
