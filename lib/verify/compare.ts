// The comparison: per list, the ledger's sum over the whole range against
// the archive's, narrowed where they differ (each differing range cut in
// FANOUT parts) until a range is small enough to list in full, so the
// exchange grows with the number of differences and the logarithm of the
// archive's size, not with its size. Questions for many ranges (of many
// lists) go in one frame; the ledger side may answer a prefix of them.

import type { RangeSum } from "../store/ledger.js";
import { MAX_VERIFY_RANGES, type VerifyEntry, type VerifyRange } from "../wire/verify-frames.js";
import type { ArchiveView } from "./archive-view.js";

/** A differing range with at most this many rows on either side is listed entry by entry. */
const LEAF_ROWS = 64;
const FANOUT = 16;

export interface LedgerSide {
  sums(q: VerifyRange[]): Promise<{ sums: RangeSum[]; split: boolean }>;
  entries(list: string, from: number, to: number): Promise<{ entries: VerifyEntry[]; more: boolean }>;
}

export interface Missing {
  seq: number;
  /** null when the record is no longer retained by the ledger's outbox. */
  messageId: string | null;
}

export interface Extra {
  seq: number;
  key: Buffer;
}

export interface ListDifference {
  list: string;
  /** In the ledger, not in the archive. */
  missing: Missing[];
  /** In the archive, not in the ledger. */
  extra: Extra[];
}

export interface Comparison {
  /** Lists that differ, with what differs; lists that agree are not named. */
  differences: ListDifference[];
  /** Ranges whose sums were compared. */
  ranges: number;
}

/** Compare seqs [since, through] of each list. */
export async function compare(
  lists: readonly string[],
  since: number,
  through: number,
  ledger: LedgerSide,
  archive: ArchiveView,
): Promise<Comparison> {
  const leaves: VerifyRange[] = [];
  let pending: VerifyRange[] = through >= since ? lists.map((list): VerifyRange => [list, since, through]) : [];
  let ranges = 0;
  while (pending.length > 0) {
    const asked = pending.slice(0, MAX_VERIFY_RANGES);
    const answer = await ledger.sums(asked);
    const rest = pending.slice(answer.sums.length);
    const next: VerifyRange[] = [];
    answer.sums.forEach((theirs, i) => {
      const range = asked[i]!;
      ranges++;
      const ours = archive.sum(...range);
      if (sameSum(theirs, ours)) return;
      if (Math.max(theirs[0], ours[0]) <= LEAF_ROWS) leaves.push(range);
      else next.push(...cut(range));
    });
    const tooBig = answer.split ? rest.shift() : undefined;
    if (tooBig !== undefined) next.push(...cut(tooBig));
    pending = [...next, ...rest];
  }
  const byList = new Map<string, ListDifference>();
  for (const leaf of leaves) {
    const d = await listLeaf(leaf, ledger, archive);
    if (d.missing.length === 0 && d.extra.length === 0) continue;
    const into = byList.get(d.list) ?? { list: d.list, missing: [], extra: [] };
    into.missing.push(...d.missing);
    into.extra.push(...d.extra);
    byList.set(d.list, into);
  }
  const differences = [...byList.values()].sort((a, b) => (a.list < b.list ? -1 : a.list > b.list ? 1 : 0));
  for (const d of differences) {
    d.missing.sort((a, b) => a.seq - b.seq);
    d.extra.sort((a, b) => a.seq - b.seq);
  }
  return { differences, ranges };
}

function sameSum(a: RangeSum, b: RangeSum): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

/** A range in FANOUT parts (fewer when it holds fewer seqs). */
function cut([list, from, to]: VerifyRange): VerifyRange[] {
  const width = to - from + 1;
  const parts = Math.min(FANOUT, width);
  const out: VerifyRange[] = [];
  for (let i = 0; i < parts; i++) {
    const a = from + Math.floor((width * i) / parts);
    const b = from + Math.floor((width * (i + 1)) / parts) - 1;
    out.push([list, a, b]);
  }
  return out;
}

/** Both sides' entries of a small range, matched by seq and digest. */
async function listLeaf([list, from, to]: VerifyRange, ledger: LedgerSide, archive: ArchiveView): Promise<ListDifference> {
  const theirs: VerifyEntry[] = [];
  for (let start = from; start <= to; ) {
    const page = await ledger.entries(list, start, to);
    theirs.push(...page.entries);
    const last = page.entries.at(-1);
    if (!page.more || last === undefined) break;
    start = last[0] + 1;
  }
  const ours = archive.entries(list, from, to);
  const key = (seq: number, hi: number, lo: number) => `${seq}:${hi}:${lo}`;
  const ourKeys = new Set(ours.map((e) => key(e.seq, e.hi, e.lo)));
  const theirKeys = new Set(theirs.map(([seq, hi, lo]) => key(seq, hi, lo)));
  return {
    list,
    missing: theirs.filter(([seq, hi, lo]) => !ourKeys.has(key(seq, hi, lo))).map(([seq, , , messageId]) => ({ seq, messageId })),
    extra: ours.filter((e) => !theirKeys.has(key(e.seq, e.hi, e.lo))).map((e) => ({ seq: e.seq, key: e.key })),
  };
}
