// The frames of `verify`: a peer with a session compares what it archived
// with the publisher's ledger (store/ledger.ts) by sums over seq ranges,
// narrowing where they differ, and fetches what it lacks. Every question
// is bounded (ranges per question, entries per answer, records per fetch)
// so one frame costs the publisher a bounded amount of work; the
// publisher answers only about lists the session may receive, and a list
// it may not receive is answered exactly like one that never existed.
//
//   peer                                  publisher
//   vlists { after }               ──▶    vnames { lists, more, acked, head, since }
//   vsum { q: [[list, from, to]…] } ──▶   vsums { sums: [[count, hi, lo]…], split }
//   ventry { list, from, to }      ──▶    ventries { list, entries: [[seq, hi, lo, mid|null]…], more }
//   vget { seqs }                  ──▶    data… (prev = seq − 1), then vgot { missing }

/** Ranges one vsum may ask about. */
export const MAX_VERIFY_RANGES = 256;
/** Entries one ventries answer holds at most (`more` says there are others). */
export const MAX_VERIFY_ENTRIES = 512;
/** List names one vnames answer holds at most. */
export const MAX_VERIFY_NAMES = 512;
/** Records one vget may ask for. */
export const MAX_VERIFY_GET = 64;

/** Peer → publisher: the lists you hold that I may receive, after `after` in name order. */
export interface VerifyListsFrame {
  type: "vlists";
  after: string;
}

/** Publisher → peer: list names, and what the publisher knows of this peer. */
export interface VerifyNamesFrame {
  type: "vnames";
  lists: string[];
  more: boolean;
  /** The position this peer last acknowledged, as the publisher recorded it. */
  acked: number;
  head: number;
  /** The first seq the ledger knows of (records pruned before the outbox kept a ledger are not in it). */
  since: number;
}

export type VerifyRange = [list: string, from: number, to: number];

/** Peer → publisher: the sum over each range. */
export interface VerifySumFrame {
  type: "vsum";
  q: VerifyRange[];
}

/**
 * Publisher → peer: [count, hi, lo] (see store/ledger.ts) for the ranges
 * asked, in order: for a prefix of them when answering all would cost too
 * much (ask again for the rest). `split`: the first range not answered
 * holds too many rows to sum at once; ask for its parts instead.
 */
export interface VerifySumsFrame {
  type: "vsums";
  sums: Array<[number, number, number]>;
  split: boolean;
}

/** Peer → publisher: the ledger's entries of `list` in [from, to]. */
export interface VerifyEntryFrame {
  type: "ventry";
  list: string;
  from: number;
  to: number;
}

/** [seq, hi, lo, Message-ID while the record is retained, else null]. */
export type VerifyEntry = [number, number, number, string | null];

export interface VerifyEntriesFrame {
  type: "ventries";
  list: string;
  entries: VerifyEntry[];
  /** More entries follow the last one in the range asked about. */
  more: boolean;
}

/** Peer → publisher: send me these records (those still retained and mine to receive). */
export interface VerifyGetFrame {
  type: "vget";
  seqs: number[];
}

/** Publisher → peer, after the data frames of a vget: the seqs it did not send. */
export interface VerifyGotFrame {
  type: "vgot";
  missing: number[];
}

export type VerifyFrame =
  | VerifyListsFrame
  | VerifyNamesFrame
  | VerifySumFrame
  | VerifySumsFrame
  | VerifyEntryFrame
  | VerifyEntriesFrame
  | VerifyGetFrame
  | VerifyGotFrame;

export const VERIFY_TYPES: ReadonlySet<string> = new Set(["vlists", "vnames", "vsum", "vsums", "ventry", "ventries", "vget", "vgot"]);
