// The publisher's side of the control protocol: decode what peers send on
// the ROUTER, keep one session per routing id (and one per peer identity),
// answer, and account. A malformed or unexpected frame is answered with an
// error and counted; it never ends the daemon or touches another session.
// What any one connection or key may cost (hellos, sessions, older
// connections, log lines) is bounded by the PeerGuard; a connection whose
// key was refused or revoked is no longer read.

import { isOutboxBusy, ProtocolError } from "../errors.js";
import { RateLimiter, type Logger } from "../log.js";
import type { Authorizer, PeerGrant } from "../security/authorizer.js";
import { fingerprint } from "../security/keys.js";
import { bothMatch, listMatcher } from "../security/list-match.js";
import type { Outbox } from "../store/outbox.js";
import type { RouterSocket } from "../transport/zmq.js";
import { decode, encode } from "../wire/codec.js";
import type { WireErrorCode } from "../wire/errors.js";
import { MAX_HEADER_BYTES, type Frame, type HelloFrame } from "../wire/frames.js";
import { MAX_RETIRED_PER_KEY, PeerGuard } from "./peer-guard.js";
import { Session, type SessionTimers } from "./session.js";
import type { PubListeners } from "./fanout.js";

export interface ControlDeps {
  outbox: Outbox;
  router: RouterSocket;
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

const LAST_SEEN_PERSIST_MS = 5000;
/** More sessions than this is a flood (each is a connection), not a deployment. */
const MAX_SESSIONS = 10_000;

type PeerUpdate = { id: string; acked: number; ackedAt: number | null; lastSeen: number; deadLetters?: number };

function dead(s: Session): { deadLetters?: number } {
  return s.deadLetters === undefined ? {} : { deadLetters: s.deadLetters };
}

export class Control {
  readonly counters: PublisherCounters = emptyCounters();
  private readonly guard = new PeerGuard();
  private readonly bySocket = new Map<string, Session>();
  private readonly byPeer = new Map<string, Session>();
  private readonly persistedAt = new Map<string, number>();
  /** Peers that started a session since the last persist. */
  private readonly registrations = new Map<string, { id: string; name: string; lists: string[] | null; acked: number; at: number }>();
  /** Final state of sessions that ended since the last persist. */
  private readonly endedUpdates = new Map<string, PeerUpdate>();
  private readonly limiter = new RateLimiter(10_000);

  constructor(private readonly deps: ControlDeps) {}

  sessions(): Iterable<Session> {
    return this.bySocket.values();
  }

  /** Who follows PUB: nobody, only peers that accept batch frames, or some that do not. */
  pubListeners(): PubListeners {
    let listeners: PubListeners = "none";
    for (const s of this.bySocket.values()) {
      if (s.mode !== "pub") continue;
      if (!s.batches) return "data";
      listeners = "batches";
    }
    return listeners;
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
      this.warn(`bad:${key}`, { code: err.code, reason: err.message }, "rejected a malformed frame");
      this.reply(routingId, err.code, err.message);
      return;
    }
    const now = Date.now();
    if (frame.type === "hello") {
      this.hello(routingId, frame, now);
      return;
    }
    const session = this.bySocket.get(key);
    if (session === undefined) {
      if (frame.type !== "bye") this.reply(routingId, "NO_SESSION", "no session: send hello first");
      return;
    }
    session.heard(now);
    this.handle(session, frame, now);
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
      case "hb": // a peer's heartbeat carries its stored position too
        if (frame.type === "hb" && frame.dead !== undefined && frame.dead !== session.deadLetters) {
          session.deadLetters = frame.dead;
          session.dirty = true;
        }
        if (!session.ack(frame.seq, head, now)) {
          this.counters.badFrames++;
          this.reply(session.routingId, "BAD_FRAME", `ack ${frame.seq} is beyond the head ${head}`);
        }
        return;
      case "bye":
        this.remove(session, "said goodbye");
        return;
      default:
        this.counters.badFrames++;
        this.reply(session.routingId, "UNKNOWN_TYPE", `a peer may not send ${frame.type} frames`);
    }
  }

  private hello(routingId: Buffer, hello: HelloFrame, now: number): void {
    const key = routingId.toString("hex");
    const verdict = this.guard.hello(key, now);
    if (verdict !== "ok") {
      this.counters.limited++;
      if (verdict === "refuse") this.reply(routingId, "BUSY", "too many hellos on this connection: at most 2 a second");
      return;
    }
    this.counters.hellos++;
    const decision = this.deps.authorizer.authorize(hello, routingId);
    if (!decision.ok && decision.code === "CHALLENGE") {
      if (decision.badProof) this.refused(key, hello.peer, "the hello's proof does not answer this connection's challenge");
      this.send(routingId, { type: "challenge", nonce: decision.challenge });
      return;
    }
    if (!decision.ok) {
      this.refused(key, null, decision.message);
      this.reply(routingId, decision.code, decision.message);
      this.guard.ban(key); // an admitted connection naming a key we do not know: not read again
      return;
    }
    const { outbox } = this.deps;
    if (hello.outbox !== null && hello.outbox !== outbox.id) {
      this.reply(routingId, "OUTBOX_MISMATCH", `this publisher's outbox is ${outbox.id}, not ${hello.outbox}`, outbox.id);
      return;
    }
    const head = outbox.head();
    if (hello.from > head) {
      const message = `peer says it stored up to seq ${hello.from}, but the outbox head is ${head}`;
      this.reply(routingId, "POSITION_AHEAD", message, String(head));
      return;
    }
    const busy = this.sessionRefusal(key, decision.grant.peerId, now);
    if (busy !== null) {
      this.counters.limited++;
      this.reply(routingId, "BUSY", busy);
      return;
    }
    this.startSession(routingId, hello, decision.grant, head, now);
  }

  /** Why this key may not start a session on this connection now, or null. */
  private sessionRefusal(key: string, peerId: string, now: number): string | null {
    if (this.bySocket.size >= MAX_SESSIONS && !this.bySocket.has(key)) return `this publisher already serves ${MAX_SESSIONS} sessions`;
    const previous = this.byPeer.get(peerId);
    const moving = previous !== undefined && previous.key !== key;
    if (moving && this.guard.retiredOf(peerId).size >= MAX_RETIRED_PER_KEY) {
      return `this key already has ${MAX_RETIRED_PER_KEY} older connections open: close them (they are found gone within a heartbeat)`;
    }
    if (!this.guard.sessionStart(peerId, now)) return "this key starts sessions too often: at most one every 2 s, retry";
    return null;
  }

  private startSession(routingId: Buffer, hello: HelloFrame, grant: PeerGrant, head: number, now: number): void {
    const { outbox } = this.deps;
    this.replaceExisting(routingId.toString("hex"), grant.peerId);
    const mode = grant.mayUsePub && hello.lists === null ? "pub" : "router";
    const session = new Session({
      routingId,
      peerId: grant.peerId,
      name: grant.name,
      lists: bothMatch(listMatcher(hello.lists), grant.allowed),
      mode,
      batches: hello.batches === true,
      from: hello.from,
      floor: this.recordedAck(grant.peerId),
      credit: hello.credit,
      head,
      now,
    });
    // Written with the next persist(): a write here could wait on another process's commit.
    this.registrations.set(grant.peerId, { id: grant.peerId, name: grant.name, lists: hello.lists, acked: hello.from, at: now });
    this.persistedAt.set(grant.peerId, now);
    session.dirty = false;
    this.bySocket.set(session.key, session);
    this.byPeer.set(grant.peerId, session);
    this.logPrunedGap(session, hello.from);
    this.send(session.routingId, {
      type: "welcome",
      outbox: outbox.id,
      head,
      first: outbox.first(),
      from: hello.from,
      mode,
      pub: mode === "pub" ? this.deps.pubEndpoint : null,
      heartbeat: this.deps.heartbeatMs,
    });
    this.info(`session:${grant.peerId}`, { peer: grant.peerId, name: grant.name, from: hello.from, head, mode }, "peer session started");
    this.deps.wake();
  }

  /** The peer's acknowledged seq as recorded: a hello below it does not move it back. */
  private recordedAck(peerId: string): number {
    try {
      return this.deps.outbox.ackedOf(peerId) ?? 0;
    } catch (err) {
      if (isOutboxBusy(err)) return 0;
      throw err;
    }
  }

  private replaceExisting(key: string, peerId: string): void {
    const bySocket = this.bySocket.get(key);
    if (bySocket) this.remove(bySocket, "restarted its session");
    const byPeer = this.byPeer.get(peerId);
    if (byPeer) {
      this.remove(byPeer, "replaced by a newer connection");
      this.guard.retire(peerId, byPeer.key);
    }
  }

  private logPrunedGap(session: Session, from: number): void {
    const first = this.deps.outbox.first();
    if (from > 0 && first > from + 1) {
      this.deps.log.error(
        { peer: session.peerId, missing: { from: from + 1, to: first - 1 } },
        "records this peer never acknowledged were pruned (it was not registered); they cannot be delivered",
      );
    }
  }

  /**
   * End a peer's session (its key was revoked or changed), telling it why.
   * A revoked key's connections are no longer read: what they send is
   * dropped undecoded until they close.
   */
  endPeer(peerId: string, code: WireErrorCode, message: string, revoked: boolean): void {
    const session = this.byPeer.get(peerId);
    if (revoked) for (const key of this.guard.retiredOf(peerId)) this.guard.ban(key);
    if (session === undefined) return;
    this.reply(session.routingId, code, message);
    this.remove(session, message);
    if (revoked) this.guard.ban(session.key);
  }

  heartbeat(now: number, timers: SessionTimers): void {
    const head = this.deps.head();
    for (const session of [...this.bySocket.values()]) {
      if (session.expired(now, timers)) {
        this.counters.expired++;
        this.remove(session, "timed out");
        continue;
      }
      this.send(session.routingId, { type: "hb", seq: head }, session);
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
      this.deps.router.send(Buffer.from(key, "hex"), encode({ type: "hb", seq: head }), (err) => {
        if (err.code === "EHOSTUNREACH") this.guard.gone(key);
      });
    }
  }

  /**
   * Write registrations, acks and liveness to the outbox so pruning and
   * `status` see them. The daemon's connection never waits for a lock (it
   * would stall every peer): when another process is writing, it tries again
   * on the next call.
   */
  persist(): void {
    const now = Date.now();
    const updates = new Map(this.endedUpdates);
    for (const s of this.byPeer.values()) {
      if (!s.dirty && now - (this.persistedAt.get(s.peerId) ?? 0) < LAST_SEEN_PERSIST_MS) continue;
      updates.set(s.peerId, { id: s.peerId, acked: s.acked, ackedAt: s.ackedAt, lastSeen: s.lastHeard, ...dead(s) });
    }
    try {
      this.deps.outbox.writePeers([...this.registrations.values()], [...updates.values()]);
    } catch (err) {
      if (isOutboxBusy(err)) return;
      throw err;
    }
    this.registrations.clear();
    this.endedUpdates.clear();
    for (const id of updates.keys()) {
      const s = this.byPeer.get(id);
      if (s) s.dirty = false;
      this.persistedAt.set(id, now);
    }
  }

  /** The lowest position a live session needs: records above it must stay, whatever the table says. */
  lowestLivePosition(): number {
    let low = Infinity;
    for (const s of this.bySocket.values()) low = Math.min(low, s.retains);
    for (const r of this.registrations.values()) low = Math.min(low, r.acked);
    return low;
  }

  sendFailed(session: Session, err: Error & { code?: string }): void {
    this.counters.sendFailures++;
    if (err.code === "EHOSTUNREACH") this.guard.gone(session.key);
    if (this.bySocket.get(session.key) !== session) return;
    if (err.code === "EHOSTUNREACH") {
      this.remove(session, "disconnected");
      return;
    }
    // Its pipe is full: stop until it asks again (its gap check will).
    session.credit = 0;
    this.warn(`full:${session.peerId}`, { peer: session.peerId, code: err.code }, "peer cannot take more; pausing it");
  }

  private remove(session: Session, why: string): void {
    if (this.bySocket.get(session.key) === session) this.bySocket.delete(session.key);
    if (this.byPeer.get(session.peerId) === session) {
      this.byPeer.delete(session.peerId);
      if (session.dirty) {
        const s = session;
        this.endedUpdates.set(s.peerId, { id: s.peerId, acked: s.acked, ackedAt: s.ackedAt, lastSeen: s.lastHeard, ...dead(s) });
      }
    }
    this.deps.router.discard(session.routingId);
    this.info(`ended:${session.peerId}`, { peer: session.peerId, acked: session.acked }, `peer session ended: ${why}`);
  }

  private send(routingId: Buffer, frame: Frame, session?: Session): void {
    this.deps.router.send(routingId, encode(frame), (err) => {
      if (session) this.sendFailed(session, err);
    });
  }

  private reply(routingId: Buffer, code: WireErrorCode, message: string, detail: string | null = null): void {
    this.send(routingId, { type: "err", code, message, detail });
  }

  /** A refused hello: counted, and logged at most once per 10 s per connection (and as the limiter allows overall). */
  private refused(connection: string, key: string | null, reason: string): void {
    this.counters.refused++;
    this.warn(`refused:${connection}`, { connection, ...(key === null ? {} : { key: fingerprint(key) }), reason }, "refused a peer");
  }

  private warn(key: string, fields: Record<string, unknown>, message: string): void {
    const suppressed = this.limiter.allow(key);
    if (suppressed !== null) this.deps.log.warn({ ...fields, suppressed }, message);
  }

  /** Session starts and ends, at a peer's pace: logged at most once per 10 s per key (with how many were not). */
  private info(key: string, fields: Record<string, unknown>, message: string): void {
    const suppressed = this.limiter.allow(key);
    if (suppressed !== null) this.deps.log.info(suppressed > 0 ? { ...fields, suppressed } : fields, message);
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
