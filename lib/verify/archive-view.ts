// The archive's side of a verify comparison: per list, the seqs and
// digests of what the subscriber state says it archived from the followed
// outbox, loaded once and answered by prefix sums, so any range's sum
// costs a binary search.

import { digestOfKey, type RangeSum } from "../store/ledger.js";

export interface ArchivedRows {
  entries(list: string, through: number): Array<{ seq: number; key: Buffer }>;
}

export interface ViewEntry {
  seq: number;
  hi: number;
  lo: number;
  key: Buffer;
}

class ListView {
  readonly seqs: number[];
  private readonly hiSums: Uint32Array;
  private readonly loSums: Uint32Array;

  constructor(readonly rows: ViewEntry[]) {
    this.seqs = rows.map((r) => r.seq);
    this.hiSums = new Uint32Array(rows.length + 1);
    this.loSums = new Uint32Array(rows.length + 1);
    rows.forEach((r, i) => {
      this.hiSums[i + 1] = this.hiSums[i]! + r.hi; // a Uint32Array keeps each sum mod 2^32
      this.loSums[i + 1] = this.loSums[i]! + r.lo;
    });
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

  entries(from: number, to: number): ViewEntry[] {
    return this.rows.slice(this.lower(from), this.lower(to + 1));
  }
}

export class ArchiveView {
  private readonly lists = new Map<string, ListView>();

  constructor(
    private readonly rows: ArchivedRows,
    /** Entries above this seq are not compared. */
    readonly through: number,
  ) {}

  private of(list: string): ListView {
    let view = this.lists.get(list);
    if (view === undefined) {
      const rows = this.rows.entries(list, this.through).map((r) => ({ seq: r.seq, ...digestOfKey(r.key), key: r.key }));
      view = new ListView(rows);
      this.lists.set(list, view);
    }
    return view;
  }

  sum(list: string, from: number, to: number): RangeSum {
    return this.of(list).sum(from, to);
  }

  entries(list: string, from: number, to: number): ViewEntry[] {
    return this.of(list).entries(from, to);
  }
}
