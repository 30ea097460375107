// The publisher's side of the control protocol: decode what peers send on
// the ROUTER and act on it through the session table (hellos go to the
// Greeter). A malformed or unexpected frame is answered with an error and
// counted; it never ends the daemon or touches another session. What any
// one connection or key may cost (hellos, sessions, older connections, log
// lines) is bounded by the PeerGuard; a connection whose key was refused
// or revoked is no longer read.

import { ProtocolError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Authorizer } from "../security/authorizer.js";
import type { PeerLedger } from "../store/peer-ledger.js";
import type { RecordLog } from "../store/record-log.js";
import { VerifyDesk, type DeskDeps, type VerifySession } from "../verify/desk.js";
import type { RouterSocket } from "../transport/zmq.js";
import { decode } from "../wire/codec.js";
import type { WireErrorCode } from "../wire/errors.js";
import { MAX_HEADER_BYTES, type Frame, type HelloFrame } from "../wire/frames.js";
import { Greeter } from "./greeter.js";
import { PeerBook } from "./peer-book.js";
import { PeerGuard } from "./peer-guard.js";
import { Replies } from "./replies.js";
import type { Session, SessionTimers } from "./session.js";
import { SessionTable } from "./session-table.js";
import { VerifySessions } from "./verify-sessions.js";
import type { OutboxIdentity } from "../store/relay-log.js";

export interface ControlDeps {
  /** The outbox's id (read again while a relay has not learnt it) and a relay's floor. */
  identity: () => OutboxIdentity;
  records: Pick<RecordLog, "head" | "first" | "firstReceivedSince">;
  /** The outbox's ledger and records, for `verify` (absent: verify questions are refused as unknown). */
  verify?: DeskDeps["records"];
  peers: Pick<PeerLedger, "write" | "ackedOf">;
  router: Pick<RouterSocket, "send" | "discard">;
  pubEndpoint: string;
  heartbeatMs: number;
  authorizer: Authorizer;
  log: Logger;
  head: () => number;
  /** Something may now be sendable. */
  wake: () => void;
}

export interface PublisherCounters {
  badFrames: number;
  refused: number;
  hellos: number;
  expired: number;
  sendFailures: number;
  /** Hellos over a connection's or a key's rate, answered BUSY or dropped. */
  limited: number;
  /** Frames from connections no longer read (a refused or revoked key), dropped undecoded. */
  ignored: number;
}

export function emptyCounters(): PublisherCounters {
  return { badFrames: 0, refused: 0, hellos: 0, expired: 0, sendFailures: 0, limited: 0, ignored: 0 };
}

export class Control {
  readonly counters: PublisherCounters = emptyCounters();
  /** The sessions, shared with the streamer and the fan-out. */
  readonly table: SessionTable;
  /** The sessions of `verify` runs, outside the table (verify-sessions.ts). */
  readonly verifiers = new VerifySessions();
  private readonly guard = new PeerGuard();
  private readonly book: PeerBook;
  private readonly replies: Replies;
  private readonly greeter: Greeter;
  /** Answers `verify` questions (verify/desk.ts). */
  readonly desk: VerifyDesk | null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeTimerAt = 0;

  constructor(private readonly deps: ControlDeps) {
    this.replies = new Replies(deps.router, deps.log);
    this.book = new PeerBook(deps.peers);
    this.table = new SessionTable({
      router: deps.router,
      onEnded: (session) => this.book.endedSession(session),
      log: (key, fields, message) => this.replies.info(key, fields, message),
    });
    this.desk =
      deps.verify === undefined
        ? null
        : new VerifyDesk({
            records: deps.verify,
            ackedOf: (peerId) => this.book.recordedAck(peerId),
            send: (routingId, frame) => this.replies.send(routingId, frame),
            busy: (routingId, message) => this.replies.error(routingId, "BUSY", message),
          });
    this.greeter = new Greeter({
      ...deps, table: this.table, verifiers: this.verifiers, book: this.book, guard: this.guard, replies: this.replies, counters: this.counters,
    });
  }

  receive(routingId: Buffer, parts: Buffer[]): void {
    const key = routingId.toString("hex");
    if (this.guard.isBanned(key)) {
      this.counters.ignored++;
      return;
    }
    let frame: Frame;
    try {
      frame = decode(checkSize(parts));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.counters.badFrames++;
      this.replies.warn(`bad:${key}`, { code: err.code, reason: err.message }, "rejected a malformed frame");
      this.replies.error(routingId, err.code, err.message);
      return;
    }
    const now = Date.now();
    if (frame.type === "hello") {
      this.greeter.hello(routingId, frame, now);
      return;
    }
    const session = this.table.onConnection(key);
    if (session === undefined) {
      const verifier = this.verifiers.onConnection(key);
      if (verifier !== undefined) this.askedByVerify(verifier, frame, now);
      else if (frame.type !== "bye") this.replies.error(routingId, "NO_SESSION", "no session: send hello first");
      return;
    }
    session.heard(now);
    this.handle(session, frame, now);
  }

  /**
   * The head to check an ack of `seq` against. The streamer reads what the
   * outbox holds, which can be ahead of the head the watcher last reported
   * (a relay's subscribe commits a batch every few milliseconds): an ack
   * past the reported head is checked against the outbox itself (one
   * indexed read) before it is called bad.
   */
  private headFor(seq: number, reported: number): number {
    return seq <= reported ? reported : Math.max(reported, this.deps.records.head());
  }

  private handle(session: Session, frame: Exclude<Frame, HelloFrame>, now: number): void {
    const head = this.deps.head();
    switch (frame.type) {
      case "fetch":
        session.fetch(frame.from, frame.credit, head, now);
        this.deps.wake();
        return;
      case "credit":
        session.addCredit(frame.bytes);
        this.deps.wake();
        return;
      case "ack":
      case "hb": {
        // (a peer's heartbeat carries its stored position too)
        if (frame.type === "hb" && frame.dead !== undefined) session.reportDeadLetters(frame.dead);
        const known = this.headFor(frame.seq, head);
        if (!session.ack(frame.seq, known, now)) {
          this.counters.badFrames++;
          this.replies.error(session.routingId, "BAD_FRAME", `ack ${frame.seq} is beyond the head ${known}`);
        }
        return;
      }
      case "bye":
        this.table.remove(session, "said goodbye");
        return;
      case "vlists":
      case "vsum":
      case "ventry":
      case "vget":
        if (this.desk === null) break;
        this.desk.answer(session, frame);
        return;
    }
    this.counters.badFrames++;
    this.replies.error(session.routingId, "UNKNOWN_TYPE", `a peer may not send ${frame.type} frames`);
  }

  /** A frame on a verify run's session: its questions, or its goodbye. */
  private askedByVerify(verifier: VerifySession, frame: Exclude<Frame, HelloFrame>, now: number): void {
    const key = verifier.routingId.toString("hex");
    this.verifiers.heard(key, now);
    if (frame.type === "bye") {
      this.verifiers.end(key);
      return;
    }
    if (this.desk !== null && (frame.type === "vlists" || frame.type === "vsum" || frame.type === "ventry" || frame.type === "vget")) {
      this.desk.answer(verifier, frame);
      return;
    }
    this.counters.badFrames++;
    this.replies.error(verifier.routingId, "UNKNOWN_TYPE", `a verify session may not send ${frame.type} frames`);
  }

  /**
   * End a peer's session (its key was revoked or changed), telling it why.
   * A revoked key's connections are no longer read: what they send is
   * dropped undecoded until they close.
   */
  endPeer(peerId: string, code: WireErrorCode, message: string, revoked: boolean): void {
    for (const key of this.verifiers.endPeer(peerId)) if (revoked) this.guard.ban(key);
    const session = this.table.ofPeer(peerId);
    if (session !== undefined) {
      this.table.remove(session, message); // first: removing drops what waits for the session, and the reply must not be
      this.replies.error(session.routingId, code, message);
    }
    if (!revoked) return;
    this.book.forget(peerId); // a registration not yet written would bring the removed peer's row back
    for (const key of this.guard.retiredOf(peerId)) this.guard.ban(key);
    if (session !== undefined) this.guard.ban(session.key);
  }

  heartbeat(now: number, timers: SessionTimers): void {
    const head = this.deps.head();
    this.verifiers.expire(now);
    for (const session of [...this.table.all()]) {
      if (session.expired(now, timers)) {
        this.counters.expired++;
        this.table.remove(session, "timed out");
        continue;
      }
      this.replies.send(session.routingId, { type: "hb", seq: head }, (err) => this.sendFailed(session, err));
      if (session.maybeRewind(head, now, timers)) {
        this.deps.log.debug({ peer: session.peerId, from: session.acked }, "resending unacknowledged records");
        this.deps.wake();
      }
    }
    this.probeRetired(head);
  }

  /** A heartbeat to each older connection of a key tells whether it is still open: a closed one fails at once. */
  private probeRetired(head: number): void {
    for (const key of this.guard.probeList()) {
      this.replies.send(Buffer.from(key, "hex"), { type: "hb", seq: head }, (err) => {
        if (err.code === "EHOSTUNREACH") this.guard.gone(key);
      });
    }
  }

  /** Stop the wake timer (the publisher is closing). */
  close(): void {
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
  }

  /** Write registrations, acks and liveness to the outbox (see PeerBook). */
  persist(): void {
    this.book.persist(this.table.all());
  }

  /** The lowest position a live or newly registered peer needs: records above it must stay, whatever the table says. */
  lowestLivePosition(): number {
    return Math.min(this.table.lowestPosition(), this.book.lowestRegistered());
  }

  /**
   * A send to this session failed: it is gone, or its pipe is full. A run
   * of records that did not fit is streamed again after a wait; a control
   * frame that did not fit is simply repeated by its timer.
   */
  sendFailed(session: Session, err: Error & { code?: string }, run?: { prev: number; bytes: number }): void {
    this.counters.sendFailures++;
    if (err.code === "EHOSTUNREACH") this.guard.gone(session.key);
    if (!this.table.current(session)) return;
    if (err.code === "EHOSTUNREACH") {
      this.table.remove(session, "disconnected");
      return;
    }
    if (run === undefined) return;
    const until = session.backOff(run.prev, run.bytes, Date.now());
    this.wakeAt(until);
    this.replies.warn(`full:${session.peerId}`, { peer: session.peerId, code: err.code }, "peer cannot take more; waiting");
  }

  /** Pump the streamer once a blocked session may go on (one timer, for the earliest). */
  private wakeAt(until: number): void {
    if (this.wakeTimer !== null && this.wakeTimerAt <= until) return;
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    this.wakeTimerAt = until;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.deps.wake();
    }, Math.max(0, until - Date.now()));
    this.wakeTimer.unref();
  }
}

/**
 * Peers send one-part frames of at most MAX_HEADER_BYTES (libzmq ends a
 * connection whose single part passes ROUTER_MAX_PART, before we see it).
 * Anything bigger is refused here, before a byte of it is decoded.
 */
function checkSize(parts: readonly Buffer[]): readonly Buffer[] {
  let bytes = 0;
  for (const part of parts) bytes += part.length;
  if (parts.length > 2 || bytes > MAX_HEADER_BYTES) {
    throw new ProtocolError("TOO_LARGE", `a message of ${parts.length} parts and ${bytes} bytes (a peer's limit: ${MAX_HEADER_BYTES} bytes)`);
  }
  return parts;
}
