// The Message-IDs a subscriber has archived, per list, so a message that
// comes again as another record (republished after pruning, or from a new
// outbox after --accept-outbox) is not archived twice.
//
// Cheap on the hot path: lookups of new Message-IDs (nearly all of them)
// are answered by a Bloom filter, and new entries are written in sorted
// groups every few seconds instead of at random spots in every commit. A
// crash may forget the last few seconds' entries: those messages would be
// archived again only if they came again as new records, never otherwise
// (a redelivered record is recognised by its seq and the sinks' names).

import type { Db } from "./sqlite.js";

export interface ArchivedKey {
  list: string;
  /** archiveKey(messageId): 16 bytes. */
  key: Buffer;
  seq: number;
}

const FLUSH_ENTRIES = 8192;
const FLUSH_MS = 2000;
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

  private positions(list: string, key: Buffer): number[] {
    let h = 0x811c9dc5;
    for (let i = 0; i < list.length; i++) h = Math.imul(h ^ list.charCodeAt(i), 0x01000193) >>> 0;
    const mask = this.bits.length * 8 - 1;
    return [0, 4, 8, 12].map((o) => (key.readUInt32LE(o) ^ h) & mask);
  }

  add(list: string, key: Buffer): void {
    this.count++;
    for (const p of this.positions(list, key)) this.bits[p >>> 3]! |= 1 << (p & 7);
  }

  mayHave(list: string, key: Buffer): boolean {
    return this.positions(list, key).every((p) => (this.bits[p >>> 3]! & (1 << (p & 7))) !== 0);
  }
}

export class ArchivedSet {
  private bloom: Bloom | null = null;
  private readonly pending = new Map<string, ArchivedKey & { outbox: string; at: number }>();
  private oldestPending = 0;
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      find: db.prepare("SELECT seq FROM archived WHERE list = ? AND mid_hash = ?").pluck(),
      count: db.prepare("SELECT count(*) FROM archived").pluck(),
      all: db.prepare("SELECT list, mid_hash FROM archived"),
      insert: db.prepare("INSERT OR IGNORE INTO archived (list, mid_hash, seq, outbox, archived_at) VALUES (?, ?, ?, ?, ?)"),
    };
  }

  find(list: string, key: Buffer): number | undefined {
    if (!this.filter().mayHave(list, key)) return undefined; // the filter holds the pending entries too
    const pending = this.pending.get(id(list, key));
    if (pending) return pending.seq;
    return this.stmts.find.get(list, key) as number | undefined;
  }

  /** Remember entries whose records were just committed. */
  add(entries: readonly ArchivedKey[], outbox: string, at: number): void {
    if (entries.length === 0) return;
    if (this.pending.size === 0) this.oldestPending = at;
    for (const e of entries) {
      const k = id(e.list, e.key);
      if (this.pending.has(k)) continue;
      this.pending.set(k, { ...e, outbox, at });
      this.bloom?.add(e.list, e.key); // a filter not built yet is built from the table and the pending entries
    }
    if (this.bloom?.full) this.bloom = null; // rebuilt larger on the next lookup
  }

  flushDue(now: number): boolean {
    return this.pending.size >= FLUSH_ENTRIES || (this.pending.size > 0 && now - this.oldestPending >= FLUSH_MS);
  }

  /** Write pending entries in key order, in one transaction (durable with the next sync of the state). */
  flush(): void {
    if (this.pending.size === 0) return;
    const entries = [...this.pending.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.db.transaction(() => {
      for (const [, e] of entries) this.stmts.insert.run(e.list, e.key, e.seq, e.outbox, e.at);
    }).immediate();
    this.pending.clear();
  }

  private filter(): Bloom {
    if (this.bloom === null) {
      const rows = this.stmts.count.get() as number;
      const bloom = new Bloom(rows + this.pending.size);
      for (const row of this.stmts.all.iterate() as Iterable<{ list: string; mid_hash: Buffer }>) bloom.add(row.list, row.mid_hash);
      for (const e of this.pending.values()) bloom.add(e.list, e.key);
      this.bloom = bloom;
    }
    return this.bloom;
  }
}

function id(list: string, key: Buffer): string {
  return `${list}\0${key.toString("hex")}`;
}
