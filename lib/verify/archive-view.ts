// The archive's side of a verify comparison: per list, the seqs and
// digests of what the subscriber state says it archived from the followed
// outbox, loaded once into typed arrays with prefix sums, so any range's
// sum costs a binary search. Entries of a small range (to list them) are
// read from the state when asked.

import type { RangeSum } from "../store/ledger.js";
import type { ArchivedRows } from "../store/state.js";

export interface ViewEntry {
  seq: number;
  hi: number;
  lo: number;
  key: Buffer;
}

class ListView {
  private readonly hiSums: Uint32Array;
  private readonly loSums: Uint32Array;

  constructor(private readonly seqs: Float64Array, hi: Int32Array, lo: Uint32Array) {
    this.hiSums = new Uint32Array(seqs.length + 1);
    this.loSums = new Uint32Array(seqs.length + 1);
    for (let i = 0; i < seqs.length; i++) {
      this.hiSums[i + 1] = this.hiSums[i]! + hi[i]!; // a Uint32Array keeps each sum mod 2^32
      this.loSums[i + 1] = this.loSums[i]! + lo[i]!;
    }
  }

  /** Index of the first seq ≥ `seq`. */
  private lower(seq: number): number {
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  sum(from: number, to: number): RangeSum {
    const a = this.lower(from);
    const b = this.lower(to + 1);
    return [b - a, (this.hiSums[b]! - this.hiSums[a]!) >>> 0, (this.loSums[b]! - this.loSums[a]!) >>> 0];
  }
}

export class ArchiveView {
  private readonly lists = new Map<string, ListView>();

  constructor(
    private readonly rows: Pick<ArchivedRows, "digests" | "entries">,
    /** Entries above this seq are not compared. */
    readonly through: number,
  ) {}

  private of(list: string): ListView {
    let view = this.lists.get(list);
    if (view === undefined) {
      const d = this.rows.digests(list, this.through);
      view = new ListView(d.seqs, d.hi, d.lo);
      this.lists.set(list, view);
    }
    return view;
  }

  sum(list: string, from: number, to: number): RangeSum {
    return this.of(list).sum(from, to);
  }

  entries(list: string, from: number, to: number): ViewEntry[] {
    return this.rows
      .entries(list, from, Math.min(to, this.through))
      .map((r) => ({ seq: r.seq, hi: r.key.readInt32BE(0), lo: r.key.readUInt32BE(4), key: r.key }));
  }
}
