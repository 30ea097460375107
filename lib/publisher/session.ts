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
  private cursorAt: number;
  /** Last seq sent (record or pass): the `prev` of the next frame. */
  private lastSentAt: number;
  /** True while the stream goes over ROUTER; pub-mode sessions stop when caught up. */
  private streaming = true;
  /**
   * Where the ROUTER stream ends: for a pub-mode session, the head when it
   * started (what comes after goes by PUB, or by a later fetch if PUB lost
   * it); for a router-mode session, nowhere.
   */
  private endAt: number;
  private creditLeft: number;
  private ackedSeq: number;
  private ackedTime: number | null = null;
  private heardAt: number;
  /** What must be written changed since the last persist (a new session is written as a registration). */
  private changed = false;
  private readonly floor: number;
  /** What the peer last said of its dead-letter store. */
  private dead: number | undefined;

  private progressAt: number;
  private resendDelay: number | null = null;
  /** Its pipe was full: nothing is read for it before this time, and the wait doubles while it stays full. */
  private blockedUntil = 0;
  private blockDelay = 0;

  constructor(init: SessionInit) {
    this.routingId = init.routingId;
    this.key = init.routingId.toString("hex");
    this.peerId = init.peerId;
    this.name = init.name;
    this.lists = init.lists;
    this.mode = init.mode;
    this.batches = init.batches;
    this.cursorAt = init.from;
    this.lastSentAt = init.from;
    this.ackedSeq = init.from;
    this.floor = init.floor;
    this.creditLeft = clampCredit(init.credit);
    this.endAt = this.endFor(init.head);
    this.heardAt = init.now;
    this.progressAt = init.now;
  }

  /** Where the ROUTER stream ends (Infinity for a router-mode session). */
  get streamEnd(): number {
    return this.endAt;
  }

  get cursor(): number {
    return this.cursorAt;
  }

  get lastSent(): number {
    return this.lastSentAt;
  }

  get credit(): number {
    return this.creditLeft;
  }

  get acked(): number {
    return this.ackedSeq;
  }

  get ackedAt(): number | null {
    return this.ackedTime;
  }

  get lastHeard(): number {
    return this.heardAt;
  }

  get deadLetters(): number | undefined {
    return this.dead;
  }

  /** Something to write to the peer table changed since the last persist. */
  get dirty(): boolean {
    return this.changed;
  }

  persisted(): void {
    this.changed = false;
  }

  heard(now: number): void {
    this.heardAt = now;
  }

  /** The peer's heartbeat says how many records wait in its dead-letter store. */
  reportDeadLetters(count: number): void {
    if (count === this.dead) return;
    this.dead = count;
    this.changed = true;
  }

  /**
   * A run of records could not be queued (the peer's pipe was full): stream
   * again from before it, its bytes back in the credit, once a wait has
   * passed (20 ms, doubling to 1 s while the pipe stays full; an ack resets
   * it). Nothing is lost and no gap is left for the peer to repair; a peer
   * that never reads costs one read a second.
   */
  backOff(prev: number, bytes: number, now: number): number {
    if (this.lastSentAt > prev) {
      this.lastSentAt = prev;
      this.cursorAt = prev;
      this.streaming = true;
      this.creditLeft = clampCredit(this.creditLeft + bytes);
    }
    this.blockDelay = Math.min(Math.max(this.blockDelay * 2, 20), 1000);
    this.blockedUntil = now + this.blockDelay;
    return this.blockedUntil;
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
    const start = Math.min(Math.max(from, this.ackedSeq), head);
    this.cursorAt = start;
    this.lastSentAt = start;
    this.streaming = true;
    this.endAt = this.endFor(head);
    this.creditLeft = clampCredit(credit);
    this.progressAt = now;
  }

  private endFor(head: number): number {
    return this.mode === "pub" ? head : Infinity;
  }

  /** Whether the stream has reached its end (or the head). */
  reachedEnd(head: number): boolean {
    return this.cursorAt >= Math.min(head, this.endAt);
  }

  addCredit(bytes: number): void {
    this.creditLeft = clampCredit(this.creditLeft + bytes);
  }

  /** Returns false for an ack the session cannot accept (beyond the head). */
  ack(seq: number, head: number, now: number): boolean {
    if (seq > head) return false;
    if (seq > this.ackedSeq) {
      this.ackedSeq = seq;
      this.ackedTime = now;
      this.changed = true;
      this.blockDelay = 0;
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
  wantsData(head: number, now: number): boolean {
    return this.creditLeft > 0 && now >= this.blockedUntil && this.catchingUp(head);
  }

  /** Account for a record or pass sent: it chains after `lastSent`. */
  sent(seq: number, bytes: number): void {
    this.lastSentAt = seq;
    this.cursorAt = Math.max(this.cursorAt, seq);
    this.creditLeft -= bytes;
  }

  /** Skip scanned rows this peer does not receive. */
  scanned(seq: number): void {
    this.cursorAt = Math.max(this.cursorAt, seq);
  }

  /** The stream reached the head: pub-mode sessions now follow PUB. */
  caughtUp(): void {
    if (this.mode === "pub") this.streaming = false;
  }

  expired(now: number, timers: SessionTimers): boolean {
    return now - this.heardAt > timers.expireMs;
  }

  /**
   * Resend when the peer holds unacknowledged data and has made no progress
   * for a while: rewind to its ack. Backs off so a stuck peer is not flooded
   * (credit bounds it anyway).
   */
  maybeRewind(head: number, now: number, timers: SessionTimers): boolean {
    const outstanding = this.mode === "pub" ? head : this.lastSentAt;
    if (this.ackedSeq >= outstanding) {
      this.progressAt = now;
      return false;
    }
    const delay = this.resendDelay ?? timers.resendMs;
    if (now - this.progressAt < delay) return false;
    this.cursorAt = this.ackedSeq;
    this.lastSentAt = this.ackedSeq;
    this.streaming = true;
    this.endAt = this.endFor(head);
    this.progressAt = now;
    this.resendDelay = Math.min(delay * 2, timers.resendMaxMs);
    return true;
  }
}

function clampCredit(bytes: number): number {
  return Math.max(0, Math.min(MAX_CREDIT, bytes));
}
