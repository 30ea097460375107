// The publisher's side of `verify`: answers a session's questions about
// the ledger (store/ledger.ts) and sends back records it asks for. Only
// lists the session may receive are answered; any other list is answered
// as if the ledger had never held it (empty sums, no entries, no names, no
// records), so a restricted peer learns nothing of it, not even a count.
//
// Cost is bounded per question (ranges summed, entries listed, body bytes
// read) and per key over time: each key may spend VERIFY_MS_PER_SECOND of
// serve's time a second on verify (burst VERIFY_BURST_MS); past that a
// question is answered BUSY without being looked at.

import { BoundedMap } from "../bounded-map.js";
import type { ListMatcher } from "../security/list-match.js";
import type { Ledger } from "../store/ledger.js";
import type { SqliteRecordLog } from "../store/record-log.js";
import { MAX_HEADER_BYTES, type Frame } from "../wire/frames.js";
import {
  MAX_VERIFY_ENTRIES,
  MAX_VERIFY_NAMES,
  type VerifyEntry,
  type VerifyEntryFrame,
  type VerifyGetFrame,
  type VerifyListsFrame,
  type VerifySumFrame,
} from "../wire/verify-frames.js";

/** Body bytes one vget reads at most (at least one record is sent). */
export const VERIFY_GET_BYTES = 16 * 1024 * 1024;
/** A key's share of serve's time for verify, and its burst. */
export const VERIFY_MS_PER_SECOND = 250;
export const VERIFY_BURST_MS = 500;
/**
 * What one answer's header may hold (the receiver refuses a header over
 * MAX_HEADER_BYTES): names and entries stop here, with `more` set. 24
 * bytes cover an entry's numbers and msgpack framing.
 */
const ANSWER_BYTES = MAX_HEADER_BYTES - 1024;
/** List names read from the ledger at a time. */
const NAMES_SCANNED = 4 * MAX_VERIFY_NAMES;

export type VerifyQuestion = VerifyListsFrame | VerifySumFrame | VerifyEntryFrame | VerifyGetFrame;

export interface VerifySession {
  peerId: string;
  routingId: Buffer;
  lists: ListMatcher;
}

export interface DeskDeps {
  records: Pick<SqliteRecordLog, "readSeqs" | "messageIdOf" | "head"> & { ledger: Pick<Ledger, "sum" | "entries" | "names" | "since"> };
  /** The peer's acknowledged position as the publisher recorded it. */
  ackedOf: (peerId: string) => number;
  send: (routingId: Buffer, frame: Frame) => void;
  busy: (routingId: Buffer, message: string) => void;
  /** A clock in ms with sub-ms resolution (performance.now), for the time budget. */
  clock?: () => number;
}

interface Budget {
  tokens: number;
  at: number;
}

export class VerifyDesk {
  private readonly budgets = new BoundedMap<string, Budget>(20_000);
  private readonly clock: () => number;
  /** Questions answered, and refused BUSY (for tests and metrics). */
  readonly counters = { answered: 0, busy: 0 };

  constructor(private readonly deps: DeskDeps) {
    this.clock = deps.clock ?? (() => performance.now());
  }

  answer(session: VerifySession, frame: VerifyQuestion): void {
    const budget = this.budgetOf(session.peerId);
    if (budget.tokens <= 0) {
      this.counters.busy++;
      const wait = Math.ceil((-budget.tokens / VERIFY_MS_PER_SECOND) * 1000) + 1;
      this.deps.busy(session.routingId, `verify questions cost more than ${VERIFY_MS_PER_SECOND} ms a second: retry in ${wait} ms`);
      return;
    }
    const started = this.clock();
    try {
      this.dispatch(session, frame);
      this.counters.answered++;
    } finally {
      budget.tokens -= this.clock() - started;
    }
  }

  private budgetOf(peerId: string): Budget {
    const now = this.clock();
    let b = this.budgets.get(peerId);
    if (b === undefined) {
      b = { tokens: VERIFY_BURST_MS, at: now };
      this.budgets.set(peerId, b);
    }
    b.tokens = Math.min(VERIFY_BURST_MS, b.tokens + ((now - b.at) / 1000) * VERIFY_MS_PER_SECOND);
    b.at = now;
    return b;
  }

  private dispatch(session: VerifySession, frame: VerifyQuestion): void {
    switch (frame.type) {
      case "vlists":
        return this.names(session, frame.after);
      case "vsum":
        return this.sums(session, frame);
      case "ventry":
        return this.entries(session, frame);
      case "vget":
        return this.get(session, frame.seqs);
    }
  }

  /** Names the session may receive, after `after`, paging through the ledger's names (skipped ones are never named). */
  private names(session: VerifySession, after: string): void {
    const { ledger } = this.deps.records;
    const lists: string[] = [];
    let more = false;
    let bytes = 0;
    for (let from = after; !more; ) {
      const page = ledger.names(from, NAMES_SCANNED);
      for (const name of page) {
        if (!session.lists(name)) continue;
        bytes += 8 + Buffer.byteLength(name);
        if (lists.length === MAX_VERIFY_NAMES || bytes > ANSWER_BYTES) {
          more = true;
          break;
        }
        lists.push(name);
      }
      const last = page.at(-1);
      if (last === undefined || page.length < NAMES_SCANNED) break;
      from = last;
    }
    this.deps.send(session.routingId, {
      type: "vnames",
      lists,
      more,
      acked: this.deps.ackedOf(session.peerId),
      head: this.deps.records.head(),
      since: this.deps.records.ledger.since(),
    });
  }

  /**
   * Every range asked (at most MAX_VERIFY_RANGES): a range's sum costs two
   * ledger seeks however many rows it holds (ledger.ts, schema 6), so no
   * answer is cut short. `split` stays on the wire for peers talking to a
   * serve before schema 6, which summed rows and answered at most 100,000
   * of them a question (compare.ts still follows such answers).
   */
  private sums(session: VerifySession, frame: VerifySumFrame): void {
    const { ledger } = this.deps.records;
    const sums = frame.q.map(([list, from, to]): [number, number, number] => (session.lists(list) ? ledger.sum(list, from, to) : [0, 0, 0]));
    this.deps.send(session.routingId, { type: "vsums", sums, split: false });
  }

  private entries(session: VerifySession, frame: VerifyEntryFrame): void {
    const { records } = this.deps;
    const rows = session.lists(frame.list) ? records.ledger.entries(frame.list, frame.from, frame.to, MAX_VERIFY_ENTRIES + 1) : [];
    let more = rows.length > MAX_VERIFY_ENTRIES;
    const entries: VerifyEntry[] = [];
    let bytes = Buffer.byteLength(frame.list);
    for (const e of rows.slice(0, MAX_VERIFY_ENTRIES)) {
      const mid = records.messageIdOf(e.seq) ?? null;
      bytes += 24 + (mid === null ? 0 : Buffer.byteLength(mid));
      if (bytes > ANSWER_BYTES && entries.length > 0) {
        more = true;
        break;
      }
      entries.push([e.seq, e.hi, e.lo, mid]);
    }
    this.deps.send(session.routingId, { type: "ventries", list: frame.list, entries, more });
  }

  /** Each retained record of a list the session receives, as a data frame; then which were not sent (not retained, or not the session's). */
  private get(session: VerifySession, seqs: number[]): void {
    const wanted = [...new Set(seqs)].sort((a, b) => a - b);
    const { records, through } = this.deps.records.readSeqs(wanted, VERIFY_GET_BYTES);
    const found = records.filter((r) => session.lists(r.list));
    const sent = new Set(found.map((r) => r.seq));
    for (const r of found) {
      const { size: _size, ...record } = r;
      this.deps.send(session.routingId, { type: "data", ...record, prev: r.seq - 1 });
    }
    // Seqs past the byte limit were not looked at: not named missing, the peer asks for them again.
    const read = wanted.filter((s) => s <= through);
    this.deps.send(session.routingId, { type: "vgot", missing: read.filter((s) => !sent.has(s)) });
  }
}
