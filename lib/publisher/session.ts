// One connected peer, as the publisher sees it: where its stream stands, how
// much it may still be sent, what it has acknowledged. Pure state: the
// publisher feeds it frames and the clock, and asks it what to send. No
// input, however hostile, can make a session send beyond its credit, ack
// beyond the head, or move another peer's position.

import type { ListMatcher } from "../security/list-match.js";
import type { DeliveryMode } from "../wire/frames.js";

/** Credit a peer may hold, whatever it asks for: bounds what the publisher buffers for it. */
export const MAX_CREDIT = 64 * 1024 * 1024;

export interface SessionInit {
  routingId: Buffer;
  peerId: string;
  name: string;
  /** Lists this session receives: what it asked for, within what it is allowed. */
  lists: ListMatcher;
  mode: DeliveryMode;
  /** The peer accepts batch frames. */
  batches: boolean;
  from: number;
  /** What the peer's acknowledgement was recorded at: a hello below it streams from `from` but holds back nothing below it. */
  floor: number;
  credit: number;
  /** The head now: where a pub-mode session's catch-up ends (PUB carries what follows). */
  head: number;
  now: number;
}

export interface SessionTimers {
  /** A peer silent this long is dropped. */
  expireMs: number;
  /** Unacknowledged data is resent after this long without progress, doubling up to `resendMaxMs`. */
  resendMs: number;
  resendMaxMs: number;
}

export class Session {
  readonly routingId: Buffer;
  readonly key: string;
  readonly peerId: string;
  readonly name: string;
  readonly lists: ListMatcher;
  readonly mode: DeliveryMode;
  readonly batches: boolean;

  /** Last seq scanned for this peer's stream. */
  cursor: number;
  /** Last seq sent (record or pass): the `prev` of the next frame. */
  lastSent: number;
  /** True while the stream goes over ROUTER; pub-mode sessions stop when caught up. */
  streaming = true;
  /**
   * Where the ROUTER stream ends: for a pub-mode session, the head when it
   * started (what comes after goes by PUB, or by a later fetch if PUB lost
   * it); for a router-mode session, nowhere.
   */
  streamEnd: number;
  credit: number;
  acked: number;
  ackedAt: number | null = null;
  lastHeard: number;
  /** acked changed since the last persist. */
  dirty = true;
  private readonly floor: number;
  /** What the peer last said of its dead-letter store. */
  deadLetters: number | undefined;

  private progressAt: number;
  private resendDelay: number | null = null;

  constructor(init: SessionInit) {
    this.routingId = init.routingId;
    this.key = init.routingId.toString("hex");
    this.peerId = init.peerId;
    this.name = init.name;
    this.lists = init.lists;
    this.mode = init.mode;
    this.batches = init.batches;
    this.cursor = init.from;
    this.lastSent = init.from;
    this.acked = init.from;
    this.floor = init.floor;
    this.credit = clampCredit(init.credit);
    this.streamEnd = this.endFor(init.head);
    this.lastHeard = init.now;
    this.progressAt = init.now;
  }

  heard(now: number): void {
    this.lastHeard = now;
  }

  /** The lowest seq this session needs kept: its acknowledgement, or the recorded one if higher. */
  get retains(): number {
    return Math.max(this.acked, this.floor);
  }

  /**
   * Restart the stream after `from` (the peer's request), never below what
   * it acknowledged in this session: it said it holds that, and a rewind
   * would only queue again what it does not read.
   */
  fetch(from: number, credit: number, head: number, now: number): void {
    const start = Math.min(Math.max(from, this.acked), head);
    this.cursor = start;
    this.lastSent = start;
    this.streaming = true;
    this.streamEnd = this.endFor(head);
    this.credit = clampCredit(credit);
    this.progressAt = now;
  }

  private endFor(head: number): number {
    return this.mode === "pub" ? head : Infinity;
  }

  /** Whether the stream has reached its end (or the head). */
  reachedEnd(head: number): boolean {
    return this.cursor >= Math.min(head, this.streamEnd);
  }

  addCredit(bytes: number): void {
    this.credit = clampCredit(this.credit + bytes);
  }

  /** Returns false for an ack the session cannot accept (beyond the head). */
  ack(seq: number, head: number, now: number): boolean {
    if (seq > head) return false;
    if (seq > this.acked) {
      this.acked = seq;
      this.ackedAt = now;
      this.dirty = true;
      this.progressAt = now;
      this.resendDelay = null;
    }
    return true;
  }

  /** Whether the session is behind and streaming (with credit to spend or not). */
  catchingUp(head: number): boolean {
    return this.streaming && !this.reachedEnd(head);
  }

  /** Whether the streamer should read more for this session now. */
  wantsData(head: number): boolean {
    return this.credit > 0 && this.catchingUp(head);
  }

  /** Account for a record or pass sent: it chains after `lastSent`. */
  sent(seq: number, bytes: number): void {
    this.lastSent = seq;
    this.cursor = Math.max(this.cursor, seq);
    this.credit -= bytes;
  }

  /** Skip scanned rows this peer does not receive. */
  scanned(seq: number): void {
    this.cursor = Math.max(this.cursor, seq);
  }

  /** The stream reached the head: pub-mode sessions now follow PUB. */
  caughtUp(): void {
    if (this.mode === "pub") this.streaming = false;
  }

  expired(now: number, timers: SessionTimers): boolean {
    return now - this.lastHeard > timers.expireMs;
  }

  /**
   * Resend when the peer holds unacknowledged data and has made no progress
   * for a while: rewind to its ack. Backs off so a stuck peer is not flooded
   * (credit bounds it anyway).
   */
  maybeRewind(head: number, now: number, timers: SessionTimers): boolean {
    const outstanding = this.mode === "pub" ? head : this.lastSent;
    if (this.acked >= outstanding) {
      this.progressAt = now;
      return false;
    }
    const delay = this.resendDelay ?? timers.resendMs;
    if (now - this.progressAt < delay) return false;
    this.cursor = this.acked;
    this.lastSent = this.acked;
    this.streaming = true;
    this.streamEnd = this.endFor(head);
    this.progressAt = now;
    this.resendDelay = Math.min(delay * 2, timers.resendMaxMs);
    return true;
  }
}

function clampCredit(bytes: number): number {
  return Math.max(0, Math.min(MAX_CREDIT, bytes));
}
