// The archive's side of a verify comparison: what the subscriber state says
// it archived from the followed outbox, up to `through`. A range's sum is
// read from the state's running totals (store/archived-sums.ts: two index
// seeks, nothing loaded first); entries of a small range (to list them)
// are read when asked.

import type { RangeSum } from "../store/ledger.js";
import type { ArchivedRows } from "../store/state.js";

export interface ViewEntry {
  seq: number;
  hi: number;
  lo: number;
  key: Buffer;
}

export class ArchiveView {
  constructor(
    private readonly rows: Pick<ArchivedRows, "sum" | "entries">,
    /** Entries above this seq are not compared. */
    readonly through: number,
  ) {}

  sum(list: string, from: number, to: number): RangeSum {
    return this.rows.sum(list, from, Math.min(to, this.through));
  }

  entries(list: string, from: number, to: number): ViewEntry[] {
    return this.rows
      .entries(list, from, Math.min(to, this.through))
      .map((r) => ({ seq: r.seq, hi: r.key.readInt32BE(0), lo: r.key.readUInt32BE(4), key: r.key }));
  }
}
