// The subscriber's decisions about its session with the publisher, as pure
// state: when to say hello (and again, with backoff), when to send a
// heartbeat, when the publisher has gone silent, when a stalled stream needs
// a fetch (with backoff), what a welcome, a challenge or an error means.
// Records go through the intake (intake.ts), which this machine feeds and
// whose actions it passes on. Time comes in with every event and actions
// come out; subscriber.ts performs them on the sockets, the state and the
// deliverer. No I/O, no clock.

import { ProtocolError } from "../errors.js";
import { wireErrorAction } from "../wire/errors.js";
import type { DataFrame, ErrorFrame, Frame, WelcomeFrame } from "../wire/frames.js";
import type { SessionAction } from "./actions.js";
import type { SubscriberCounters } from "./counters.js";
import type { Grant } from "./credit.js";
import { Intake } from "./intake.js";
import type { Source } from "./link.js";
import { stopError, welcomeRefusal, type Followed } from "./outbox-identity.js";

/** How often the subscriber's clock ticks. */
export const TICK_MS = 50;
/** A stream that has not moved for this long, while records we lack exist, is fetched again. */
export const STALL_MS = 200;
/** Nor while ROUTER data came within this long: the stream is moving. */
const ROUTER_QUIET_MS = 100;
const HELLO_MIN_MS = 100;
const FETCH_MIN_MS = 250;
const DEAD_LETTER_CHECK_MS = 1000;

export interface SessionMachineOptions {
  /** Stored and committed up to this seq of `outbox` (from the state). */
  position: number;
  outbox: string | null;
  heartbeatMs: number;
  creditBytes: number;
  /** Follow this outbox id if the publisher's outbox was replaced. */
  acceptOutbox?: string | undefined;
  /** Where to start, for a peer with no state yet (start-point.ts notation); null: the state has a position. */
  start?: string | null;
  /** We hold keys and can answer a challenge (false: --insecure). */
  keyed: boolean;
  counters: SubscriberCounters;
}

/** Where things stand; `received`: the end of the gap-free chain handed to the deliverer (perhaps not stored yet). */
export interface MachineView {
  connected: boolean;
  committed: number;
  received: number;
  head: number;
  outbox: string | null;
  pubPaused: boolean;
  helloDelay: number;
  fetchDelay: number;
}

export class SessionMachine {
  private readonly intake: Intake;
  /** The open session: the publisher's heartbeat interval, which silence, heartbeats and the fetch backoff go by. */
  private session: { heartbeatMs: number } | null = null;
  private outboxId: string | null;
  private committed: number;
  private knownHead = 0;
  private lastHeard = 0;
  private lastHelloAt = 0;
  private helloDelay = HELLO_MIN_MS;
  private lastHeartbeatAt = 0;
  private lastProgressAt = 0;
  private lastRouterDataAt = 0;
  private lastFetchAt = 0;
  private fetchDelay = FETCH_MIN_MS;
  private lastDeadLetterCheck = 0;
  /** The start point still to be resolved by a first welcome (null once resolved, or with a state). */
  private pendingStart: string | null;

  constructor(private readonly o: SessionMachineOptions) {
    this.committed = o.position;
    this.outboxId = o.outbox;
    this.pendingStart = o.start ?? null;
    this.intake = new Intake(o.position, { creditBytes: o.creditBytes, maxEntries: 20_000, maxBytes: 16 * 1024 * 1024 }, o.counters);
  }

  /** Whether a session with the publisher is open. */
  get connected(): boolean {
    return this.session !== null;
  }

  /** Everything at or below this seq is stored and committed. */
  get position(): number {
    return this.committed;
  }

  /** Where things stand, for tests and invariants. */
  get view(): MachineView {
    const { connected, committed, outboxId: outbox, knownHead: head, helloDelay, fetchDelay } = this;
    const { position: received, pubPaused } = this.intake;
    return { connected, committed, received, head, outbox, pubPaused, helloDelay, fetchDelay };
  }

  /** The sockets are connecting: the hello goes out when the handshake completes, or after the backoff. */
  started(now: number): void {
    this.lastHelloAt = now;
  }

  /** The connection came up or went down. */
  connection(up: boolean, now: number): SessionAction[] {
    const out: SessionAction[] = [];
    if (this.session) this.lose(up ? "reconnected" : "connection lost", out);
    if (up) this.hello(now, null, out);
    return out;
  }

  /**
   * A frame from the publisher. `idle`: the deliverer holds nothing (only
   * then may --accept-outbox start over on a new outbox).
   */
  frame(frame: Frame, source: Source, now: number, idle = true): SessionAction[] {
    const out: SessionAction[] = [];
    if (source === "router") this.lastHeard = now;
    switch (frame.type) {
      case "welcome":
        this.welcome(frame, now, out);
        break;
      case "data":
        this.records([frame], source, now, out);
        break;
      case "batch":
        this.records(frame.records, source, now, out);
        break;
      case "pass":
        if (this.session) {
          this.lastRouterDataAt = now;
          if (this.intake.pass(frame.seq, frame.prev, source, out)) this.progressed(now);
        }
        break;
      case "hb":
        this.knownHead = Math.max(this.knownHead, frame.seq);
        break;
      case "challenge":
        this.challenge(frame.nonce, now, out);
        break;
      case "err":
        this.error(frame, now, idle, out);
        break;
      case "bye":
        this.lose("the publisher is shutting down", out);
        break;
      default:
        out.push({ type: "log", level: "debug", msg: "ignored an unexpected frame", fields: { type: frame.type } });
    }
    this.flushCredit(out);
    return out;
  }

  /** The deliverer stored the next `count` entries it was handed. */
  stored(count: number): SessionAction[] {
    const out: SessionAction[] = [];
    this.intake.stored(count, out);
    this.flushCredit(out);
    return out;
  }

  /** Everything up to `position` is committed: acknowledge it. */
  committedUpTo(position: number): SessionAction[] {
    this.committed = position;
    return this.session ? [{ type: "ack", seq: position }] : [];
  }

  /** A credit frame could not be sent. */
  creditUnsent(grant: Grant): void {
    this.intake.unsent(grant);
  }

  tick(now: number): SessionAction[] {
    const out: SessionAction[] = [];
    if (now - this.lastDeadLetterCheck >= DEAD_LETTER_CHECK_MS) {
      this.lastDeadLetterCheck = now;
      out.push({ type: "checkDeadLetters" });
    }
    if (this.session === null) {
      if (now - this.lastHelloAt >= this.helloDelay) {
        this.hello(now, null, out);
        this.helloDelay = Math.min(this.helloDelay * 2, this.o.heartbeatMs * 2);
      }
      return out;
    }
    const hb = this.session.heartbeatMs;
    if (now - this.lastHeard > hb * 3 + 500) {
      this.lose("the publisher went silent", out);
      return out;
    }
    if (now - this.lastHeartbeatAt >= hb) {
      this.lastHeartbeatAt = now;
      out.push({ type: "heartbeat", seq: this.committed });
    }
    this.flushCredit(out, true);
    this.repairIfStalled(now, hb, out);
    return out;
  }

  // ---- frames ------------------------------------------------------------

  private welcome(w: WelcomeFrame, now: number, out: SessionAction[]): void {
    const refused = welcomeRefusal(w, this.followed());
    if (refused !== null) return void out.push({ type: "fail", error: refused });
    if (this.pendingStart !== null) {
      if (!this.startAt(w, this.pendingStart, out)) return;
    } else if (this.outboxId === null) this.adopt(w.outbox, out);
    this.session = { heartbeatMs: w.heartbeat || this.o.heartbeatMs };
    this.intake.newSession(out);
    this.lastHeard = now;
    this.lastProgressAt = now;
    this.knownHead = Math.max(this.knownHead, w.head);
    this.helloDelay = HELLO_MIN_MS;
    if (this.committed > 0 && w.first > this.committed + 1) {
      const fields = { position: this.committed, first: w.first };
      out.push({ type: "log", level: "error", msg: "records after our position were pruned before we stored them", fields });
    }
    out.push({ type: "session", welcome: w });
  }

  /**
   * Our first welcome says where our start point resolved: the position
   * jumps there before any record is taken (they chain after it), and the
   * state records the outbox, the choice and the position in one commit (a
   * crash between two would leave a state that no longer counts as new, with
   * the choice lost). Only a stateless peer asks, so nothing held is
   * skipped; a `from` past the head is no position (no honest publisher
   * sends one), refused before anything is recorded.
   */
  private startAt(w: WelcomeFrame, start: string, out: SessionAction[]): boolean {
    if (w.from > w.head) {
      const error = new ProtocolError("BAD_FRAME", `the publisher's welcome starts us at seq ${w.from}, past its head ${w.head}`);
      out.push({ type: "fail", error });
      return false;
    }
    this.pendingStart = null;
    this.outboxId = w.outbox;
    this.committed = w.from;
    this.intake.reset(w.from, out);
    out.push({ type: "startAt", outbox: w.outbox, start, position: w.from });
    return true;
  }

  /** Records of one frame, taken only within a session. */
  private records(records: readonly DataFrame[], source: Source, now: number, out: SessionAction[]): void {
    if (this.session === null || this.outboxId === null) return;
    if (source === "router") this.lastRouterDataAt = now;
    for (const r of records) this.knownHead = Math.max(this.knownHead, r.seq);
    if (this.intake.records(records, source, this.outboxId, out)) this.progressed(now);
  }

  /** The chain moved on: the stream is not stalled, and the next stall starts the fetch backoff over. */
  private progressed(now: number): void {
    this.lastProgressAt = now;
    this.fetchDelay = FETCH_MIN_MS;
  }

  /** The publisher asks us to prove our key on this connection: the hello again, with the proof. */
  private challenge(nonce: Uint8Array, now: number, out: SessionAction[]): void {
    if (!this.o.keyed) {
      out.push({ type: "log", level: "warn", msg: "the publisher asks for a key proof, but we run without keys (--insecure)", fields: {} });
      return;
    }
    if (this.session === null) this.hello(now, nonce, out);
  }

  /** What an `err` frame means is the wire's table (wire/errors.ts); here, what each action does. */
  private error(e: ErrorFrame, now: number, idle: boolean, out: SessionAction[]): void {
    if (e.code === "OUTBOX_MISMATCH" && this.acceptNewOutbox(e.detail, now, idle, out)) return;
    switch (wireErrorAction(e.code)) {
      case "stop":
        return void out.push({ type: "fail", error: stopError(e, this.followed()) });
      case "hello":
        this.lose("the publisher does not know this session", out);
        this.lastHelloAt = 0; // at the next tick
        return;
      case "retry": {
        const fields = { code: e.code, reason: e.message, retryInMs: this.helloDelay };
        out.push({ type: "log", level: "warn", msg: "the publisher asks us to wait", fields });
        return;
      }
      case "log":
        out.push({ type: "log", level: "warn", msg: "the publisher reported an error", fields: { code: e.code, reason: e.message } });
    }
  }

  /** --accept-outbox names the publisher's new outbox: follow it from the start. */
  private acceptNewOutbox(outbox: string | null, now: number, idle: boolean, out: SessionAction[]): boolean {
    if (outbox === null || outbox !== this.o.acceptOutbox || !idle) return false;
    const fields = { from: this.outboxId, to: outbox };
    out.push({ type: "log", level: "warn", msg: "following the new outbox (--accept-outbox)", fields });
    this.adopt(outbox, out);
    this.committed = 0;
    this.intake.reset(0, out);
    this.flushCredit(out); // what the old outbox's records returned, before the new epoch starts
    this.hello(now, null, out);
    return true;
  }

  private adopt(outbox: string, out: SessionAction[]): void {
    this.outboxId = outbox;
    out.push({ type: "adoptOutbox", outbox });
  }

  private followed(): Followed {
    return { outbox: this.outboxId, position: this.committed };
  }

  // ---- what we say -------------------------------------------------------

  /** A hello: without a proof first, which the publisher answers with a challenge when it has keys. */
  private hello(now: number, challenge: Uint8Array | null, out: SessionAction[]): void {
    this.lastHelloAt = now;
    this.o.counters.hellos++;
    const start = this.pendingStart === null ? {} : { start: this.pendingStart };
    out.push({ type: "hello", from: this.committed, outbox: this.outboxId, credit: this.intake.restart(), challenge, ...start });
  }

  /** Return credit to the publisher: when enough is due, or (`all`) whatever is. */
  private flushCredit(out: SessionAction[], all = false): void {
    if (this.session === null || !(all || this.intake.creditDue)) return;
    const grant = this.intake.takeGrant();
    if (grant !== null) out.push({ type: "credit", grant });
  }

  /**
   * Ask for the stream again when records exist that we do not have, nothing
   * has moved for a while, and the publisher is not sending: a lost live
   * frame, a lost last record, or a publisher that lost track of us.
   */
  private repairIfStalled(now: number, heartbeatMs: number, out: SessionAction[]): void {
    const position = this.intake.position;
    if (position >= this.knownHead) return;
    if (now - this.lastProgressAt < STALL_MS || now - this.lastRouterDataAt < ROUTER_QUIET_MS) return;
    if (this.intake.congested) return; // we are the slow part, not the stream
    if (now - this.lastFetchAt < this.fetchDelay) return;
    this.lastFetchAt = now;
    this.o.counters.fetches++;
    this.fetchDelay = Math.min(this.fetchDelay * 2, heartbeatMs * 2);
    out.push({ type: "fetch", from: position, head: this.knownHead, credit: this.intake.restart() });
  }

  private lose(why: string, out: SessionAction[]): void {
    if (this.session === null) return;
    this.session = null;
    this.helloDelay = HELLO_MIN_MS;
    out.push({ type: "lost", why, position: this.committed });
  }
}
