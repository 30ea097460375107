// Per-peer streams over ROUTER: catch-up, repair and, for peers that may not
// follow PUB, live delivery. Round-robin over sessions, a bounded chunk at a
// time and never beyond a peer's credit, so one peer's backlog neither
// starves the others nor grows the publisher's memory. A peer that accepts
// batch frames gets each chunk in as few messages as the header limit
// allows. Peers streaming together share their reads (SharedReads).

import type { Logger } from "../log.js";
import { ALL_LISTS } from "../security/list-match.js";
import type { OutboxRecord, RecordLog } from "../store/record-log.js";
import type { RouterSocket } from "../transport/zmq.js";
import { encode, encodeRun, messagesFor } from "../wire/codec.js";
import type { Session } from "./session.js";
import type { SessionTable } from "./session-table.js";
import { SharedReads } from "./shared-reads.js";

const CHUNK_RECORDS = 64;
/**
 * Bodies in one chunk, and so in one ROUTER message (unless a single record
 * is larger): with ROUTER_HWM messages per peer, what libzmq can hold for
 * one connection that does not read is ROUTER_HWM × CHUNK_BYTES.
 */
export const CHUNK_BYTES = 256 * 1024;
const SCAN_ROWS = 2048;
/** Pause while this many bytes wait for the ROUTER socket. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export interface StreamerDeps {
  records: Pick<RecordLog, "readAfter" | "readAfterFiltered">;
  router: RouterSocket;
  log: Logger;
  /** The sessions (the control side's table): streams read them and change them only through their methods. */
  sessions: Pick<SessionTable, "all">;
  head: () => number;
  /** A send to this session failed: it is gone, or its pipe is full (`run`: the records it carried, after `prev`). */
  onSendFailure: (session: Session, err: Error & { code?: string }, run?: { prev: number; bytes: number }) => void;
}

export class Streamer {
  private running = false;
  private again = false;
  private readonly reads: SharedReads;
  /** More than one session reading every list is catching up: their reads go through `reads`. */
  private shared = false;

  constructor(private readonly deps: StreamerDeps) {
    this.reads = new SharedReads(deps.records);
  }

  /** Records streams took from memory (read for another stream moments before). */
  get sharedReads(): number {
    return this.reads.hits;
  }

  /** Send what sessions are owed; coalesces concurrent calls. */
  async pump(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        while (this.turn()) {
          await new Promise((resolve) => setImmediate(resolve));
          while (this.deps.router.queuedBytes > MAX_QUEUED_BYTES) await new Promise((resolve) => setTimeout(resolve, 1));
        }
      } while (this.again);
    } catch (err) {
      this.deps.log.error({ err }, "streaming failed; will retry on the next change");
    } finally {
      this.running = false;
    }
  }

  /** One chunk for every session that wants data. Returns whether any did. */
  private turn(): boolean {
    const head = this.deps.head();
    const sessions = [...this.deps.sessions.all()];
    // Shared while several every-list peers are behind, whether or not each has credit this turn.
    this.shared = sessions.filter((session) => session.lists === ALL_LISTS && session.catchingUp(head)).length > 1;
    if (!this.shared) this.reads.clear();
    const now = Date.now();
    const wanting = sessions.filter((session) => session.wantsData(head, now));
    for (const session of wanting) this.streamChunk(session, head);
    return wanting.length > 0;
  }

  private streamChunk(session: Session, head: number): void {
    const maxBytes = Math.max(1, Math.min(session.credit, CHUNK_BYTES));
    const records =
      session.lists === ALL_LISTS
        ? this.readAll(session, maxBytes)
        : this.readFiltered(session, maxBytes);
    for (const run of messagesFor(records, session.batches)) this.sendRun(session, run);
    if (session.reachedEnd(head)) {
      this.sendPassIfNeeded(session);
      session.caughtUp();
    }
  }

  private readAll(session: Session, maxBytes: number): OutboxRecord[] {
    const limits = { limit: CHUNK_RECORDS, maxBytes };
    const records = this.shared ? this.reads.readAfter(session.cursor, limits) : this.deps.records.readAfter(session.cursor, limits);
    if (records.length === 0) session.scanned(this.deps.head()); // the rest was pruned
    return records;
  }

  private readFiltered(session: Session, maxBytes: number): OutboxRecord[] {
    const { records, scanned } = this.deps.records.readAfterFiltered(session.cursor, session.lists, {
      limit: CHUNK_RECORDS,
      maxBytes,
      scan: SCAN_ROWS,
    });
    // Every row up to `scanned` was either returned or refused; nothing left means the rest was pruned.
    session.scanned(scanned === session.cursor ? this.deps.head() : scanned);
    return records;
  }

  /** Records in one message: a data frame, or a batch frame for a peer that accepts them. */
  private sendRun(session: Session, run: readonly OutboxRecord[]): void {
    const prev = session.lastSent;
    const parts = encodeRun(run, prev);
    let bytes = 0;
    for (const record of run) {
      session.sent(record.seq, record.size);
      bytes += record.size;
    }
    this.deps.router.send(session.routingId, parts, (err) => this.deps.onSendFailure(session, err, { prev, bytes }));
  }

  /** Tell a filtered peer there is nothing more for it up to the cursor, so its position moves. */
  private sendPassIfNeeded(session: Session): void {
    if (session.cursor <= session.lastSent) return;
    const frame = encode({ type: "pass", prev: session.lastSent, seq: session.cursor });
    session.sent(session.cursor, 0);
    this.deps.router.send(session.routingId, frame, (err) => this.deps.onSendFailure(session, err));
  }
}
