// What the subscriber holds between its sockets and its sinks, and the rules
// that bound it: the reorder buffer that joins PUB and ROUTER into one chain,
// the credit window that paces the ROUTER stream, the rule that pauses PUB
// when we are too far behind it, and the records handed to the deliverer and
// not stored yet (they leave memory, returning their credit, as the
// deliverer reports them stored, in the order they were handed over). Pure:
// no I/O, no clock; what follows from an offer comes back as actions.

import type { DataFrame } from "../wire/frames.js";
import type { ActionSink } from "./actions.js";
import type { SubscriberCounters } from "./counters.js";
import { CreditWindow, type Grant, type Held } from "./credit.js";
import type { Released } from "./deliverer.js";
import { Fifo } from "./fifo.js";
import { settleHeldBodies, type HeldBody } from "./held-bodies.js";
import type { Source } from "./link.js";
import { ReorderBuffer, type ChainEntry, type OfferResult } from "./reorder.js";

export interface IntakeLimits {
  /** Bytes the publisher may send ahead of what is stored. */
  creditBytes: number;
  /** Records held for a gap, at most. */
  maxEntries: number;
  maxBytes: number;
}

interface Entry extends ChainEntry, Held {
  item: Released;
}

export class Intake {
  private readonly reorder: ReorderBuffer<Entry>;
  private readonly credit: CreditWindow;
  /** Handed to the deliverer, not reported stored yet, in the order handed over. */
  private readonly delivering = new Fifo<Held>();
  /** PUB is paused until our position reaches this seq (0: not paused). */
  private pubPausedUntil = 0;

  constructor(
    position: number,
    limits: IntakeLimits,
    private readonly counters: Pick<SubscriberCounters, "fromPub" | "fromRouter" | "duplicates" | "dropped" | "pubPauses">,
  ) {
    this.reorder = new ReorderBuffer<Entry>(position, limits);
    this.credit = new CreditWindow(limits.creditBytes);
  }

  /** The end of the gap-free chain handed to the deliverer. */
  get position(): number {
    return this.reorder.position;
  }

  get pubPaused(): boolean {
    return this.pubPausedUntil !== 0;
  }

  /** We hold so much that the ROUTER stream waiting is our doing, not a lost frame. */
  get congested(): boolean {
    return this.credit.congested;
  }

  /** Enough credit came back to be worth a credit frame. */
  get creditDue(): boolean {
    return this.credit.due;
  }

  /** Records in memory, by where they came from: ROUTER's (bounded by credit) and PUB's. */
  get bytesHeld(): { router: number; pub: number } {
    return { router: this.credit.bytesHeld, pub: this.credit.pubBytesHeld };
  }

  /** PUB records in memory beyond this mean the sinks are slow: four credit windows (a publisher's burst fits). */
  private get pubMaxHeld(): number {
    return 4 * this.credit.window;
  }

  /**
   * The records of one frame (a data frame, or a batch's records in order) of
   * `outbox`, offered to the chain. Returns whether any was released.
   */
  records(frames: readonly DataFrame[], source: Source, outbox: string, out: ActionSink): boolean {
    // The records held for a gap share the frame's part: they keep it, or get copies (see held-bodies.ts).
    const held: HeldBody[] = [];
    let split = false;
    let released = false;
    for (const f of frames) {
      if (source === "pub") this.counters.fromPub++;
      else this.counters.fromRouter++;
      const { seq, kind, list, messageId, receivedAt, body } = f;
      const record = { outbox, seq, kind, list, messageId, receivedAt, body };
      const result = this.offer(seq, f.prev, body.length, source, { type: "record", record }, out);
      if (result === "held") held.push(record);
      if (result === "dropped") split = true;
      if (result === "released") released = true;
    }
    settleHeldBodies(held, { split });
    return released;
  }

  /** A pass (nothing for us up to `seq`): whether it was released. */
  pass(seq: number, prev: number, source: Source, out: ActionSink): boolean {
    return this.offer(seq, prev, 0, source, { type: "pass", seq }, out) === "released";
  }

  /** An entry (`bytes` of body) arrived: what became of it. */
  private offer(seq: number, prev: number, bytes: number, source: Source, item: Released, out: ActionSink): OfferResult {
    this.credit.received(bytes, source);
    const entry: Entry = { seq, prev, bytes, source, creditEpoch: this.credit.epoch, item };
    const result = this.reorder.offer(entry, (e) => this.release(e, out));
    if (result === "duplicate") this.counters.duplicates++;
    if (result === "dropped") this.counters.dropped++;
    const tooFarBehind = result === "dropped" || this.credit.pubBytesHeld > this.pubMaxHeld;
    if (source === "pub" && tooFarBehind) this.pausePub(seq, out);
    if (result === "duplicate" || result === "dropped") this.release(entry, out);
    if (result !== "released") return result;
    const ready = this.reorder.take();
    for (const e of ready) this.delivering.push(e);
    out.push({ type: "deliver", entries: ready.map((e) => e.item) });
    this.resumePubIfDue(out);
    return result;
  }

  /** The deliverer stored the next `count` entries handed to it, in every sink: they leave memory. */
  stored(count: number, out: ActionSink): void {
    for (let i = 0; i < count; i++) {
      const entry = this.delivering.shift();
      if (entry === undefined) return;
      this.release(entry, out);
    }
  }

  /** A hello or fetch: a new credit epoch; the grant to send with it. */
  restart(): number {
    return this.credit.restart();
  }

  /** Credit to send now (and forget). */
  takeGrant(): Grant | null {
    return this.credit.take();
  }

  /** A credit frame could not be sent. */
  unsent(grant: Grant): void {
    this.credit.unsent(grant);
  }

  /** A new session (perhaps of a new outbox) starts with PUB taken: a seq paused at may never come. */
  newSession(out: ActionSink): void {
    this.pubPausedUntil = 0;
    out.push({ type: "resumePub", caughtUp: false, position: this.reorder.position });
  }

  /** Start over at `position` (a new outbox): what is held for a gap is let go. */
  reset(position: number, out: ActionSink): void {
    this.reorder.reset(position, (e) => this.release(e, out));
  }

  /** A record left memory (stored, or not kept): its credit returns if the publisher counts it. */
  private release(entry: Held, out: ActionSink): void {
    this.credit.release(entry);
    if (entry.source === "pub") this.resumePubIfDue(out);
  }

  /**
   * PUB is further ahead than we can hold: its records no longer fit the
   * reorder buffer, or those in memory pass pubMaxHeld (the sinks are
   * slow). Taking more would only grow memory or be dropped, so stop taking
   * them until we have caught up to where PUB was; the ROUTER stream, paced
   * by credit, fills the gap meanwhile.
   */
  private pausePub(seq: number, out: ActionSink): void {
    const first = this.pubPausedUntil === 0;
    if (first) this.counters.pubPauses++;
    out.push({ type: "pausePub", first, seq, position: this.reorder.position, bytesHeld: this.credit.pubBytesHeld });
    this.pubPausedUntil = Math.max(this.pubPausedUntil, seq);
  }

  private resumePubIfDue(out: ActionSink): void {
    if (this.pubPausedUntil === 0 || this.reorder.position < this.pubPausedUntil) return;
    if (this.credit.pubBytesHeld > this.pubMaxHeld / 2) return;
    this.pubPausedUntil = 0;
    out.push({ type: "resumePub", caughtUp: true, position: this.reorder.position });
  }
}
