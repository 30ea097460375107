// Peers catching up together read the same records: twenty archive hosts
// back after an outage would each read every record from SQLite. The
// streamer reads through here while more than one peer is catching up: the
// records read are kept (the most recently used few MiB), each with what
// precedes it in the outbox, so the next peer walks them in memory.
// Measured with 20 subscribers: 93 % of the records a stream needs were
// read by another stream moments before. Otherwise the streamer reads the
// outbox directly and clears this: each record is read once anyway.
//
// A record follows another for good: seqs only grow, so no row is ever
// inserted between two the cache has linked. A kept record may have been
// pruned since; every peer had acknowledged it, so sending it is harmless.

import type { OutboxRecord, ReadLimits, RecordLog } from "../store/record-log.js";

const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
/** What a record costs the budget at least (its object and fields), so empty bodies cannot pile up. */
const EMPTY_RECORD_BYTES = 256;

interface Kept {
  record: OutboxRecord;
  /** The seq (or start position) it follows in the outbox. */
  prev: number;
}

export class SharedReads {
  /** By seq; Map order is use order, least recent first. */
  private readonly kept = new Map<number, Kept>();
  /** A seq (or start position) → the seq of the record after it. */
  private readonly next = new Map<number, number>();
  private bytes = 0;
  /** Records taken from memory instead of SQLite. */
  hits = 0;

  constructor(
    private readonly records: Pick<RecordLog, "readAfter">,
    private readonly maxBytes = DEFAULT_MAX_BYTES,
  ) {}

  /** RecordLog.readAfter, from memory where it can; what it reads from the outbox is kept. */
  readAfter(after: number, limits: ReadLimits): OutboxRecord[] {
    const out: OutboxRecord[] = [];
    let bytes = 0;
    let cursor = after;
    const more = (): boolean => out.length < limits.limit && bytes < limits.maxBytes;
    while (more()) {
      const seq = this.next.get(cursor);
      const hit = seq === undefined ? undefined : this.kept.get(seq);
      if (hit === undefined) break;
      this.kept.delete(hit.record.seq); // most recently used: to the end
      this.kept.set(hit.record.seq, hit);
      out.push(hit.record);
      this.hits++;
      bytes += hit.record.size;
      cursor = hit.record.seq;
    }
    if (!more() && out.length > 0) return out;
    const read = this.records.readAfter(cursor, { limit: limits.limit - out.length, maxBytes: limits.maxBytes - bytes });
    for (const record of read) {
      this.keep(record, cursor);
      cursor = record.seq;
      out.push(record);
    }
    return out;
  }

  /** Records in memory now. */
  get size(): number {
    return this.kept.size;
  }

  private keep(record: OutboxRecord, prev: number): void {
    if (this.kept.has(record.seq)) return;
    this.kept.set(record.seq, { record, prev });
    this.next.set(prev, record.seq);
    this.bytes += Math.max(record.size, EMPTY_RECORD_BYTES);
    for (const [seq, old] of this.kept) {
      if (this.bytes <= this.maxBytes) break;
      this.kept.delete(seq);
      if (this.next.get(old.prev) === seq) this.next.delete(old.prev);
      this.bytes -= Math.max(old.record.size, EMPTY_RECORD_BYTES);
    }
  }

  /** Forget everything kept. */
  clear(): void {
    if (this.kept.size === 0) return;
    this.kept.clear();
    this.next.clear();
    this.bytes = 0;
  }
}
