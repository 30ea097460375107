// A hello, from the first frame to a session: within the connection's and
// the key's rates, authorized (a key proves itself by answering this
// connection's challenge), checked against the outbox, and only then a
// session in the table with its welcome. Whatever fails is answered with
// its wire code; a connection naming a key we do not know is not read again.

import type { Authorizer, PeerGrant } from "../security/authorizer.js";
import { fingerprint } from "../security/keys.js";
import { bothMatch, listMatcher } from "../security/list-match.js";
import type { RecordLog } from "../store/record-log.js";
import type { OutboxIdentity } from "../store/relay-log.js";
import type { DeliveryMode, HelloFrame } from "../wire/frames.js";
import type { PublisherCounters } from "./control.js";
import type { PeerBook } from "./peer-book.js";
import { MAX_RETIRED_PER_KEY, type PeerGuard } from "./peer-guard.js";
import type { Replies } from "./replies.js";
import { Session } from "./session.js";
import { MAX_SESSIONS, type SessionTable } from "./session-table.js";
import { resolveStart } from "./start-resolver.js";
import type { VerifySessions } from "./verify-sessions.js";

export interface GreeterDeps {
  identity: () => OutboxIdentity;
  records: Pick<RecordLog, "head" | "first" | "firstReceivedSince">;
  authorizer: Authorizer;
  table: SessionTable;
  verifiers: VerifySessions;
  book: PeerBook;
  guard: PeerGuard;
  replies: Replies;
  counters: PublisherCounters;
  pubEndpoint: string;
  heartbeatMs: number;
  /** A session started: there may be something to stream. */
  wake: () => void;
}

/** What a hello was checked against: the outbox's id, its head, and a relay's floor (null: an origin). */
interface Checked {
  id: string;
  head: number;
  relayFloor: number | null;
}

export class Greeter {
  constructor(private readonly deps: GreeterDeps) {}

  hello(routingId: Buffer, hello: HelloFrame, now: number): void {
    const { counters, replies, guard } = this.deps;
    const key = routingId.toString("hex");
    const verdict = guard.hello(key, now);
    if (verdict !== "ok") {
      counters.limited++;
      if (verdict === "refuse") replies.error(routingId, "BUSY", "too many hellos on this connection: at most 2 a second");
      return;
    }
    counters.hellos++;
    const decision = this.deps.authorizer.authorize(hello, routingId);
    if (!decision.ok && decision.code === "CHALLENGE") {
      if (decision.badProof) this.refused(key, hello.peer, "the hello's proof does not answer this connection's challenge");
      replies.send(routingId, { type: "challenge", nonce: decision.challenge });
      return;
    }
    if (!decision.ok) {
      this.refused(key, null, decision.message);
      replies.error(routingId, decision.code, decision.message);
      guard.ban(key); // an admitted connection naming a key we do not know: not read again
      return;
    }
    const checked = this.checkPosition(routingId, hello);
    if (checked === null) return;
    if (hello.verify === true) {
      this.startVerify(routingId, hello, decision.grant, checked, now);
      return;
    }
    const busy = this.sessionRefusal(key, decision.grant.peerId, now);
    if (busy !== null) {
      counters.limited++;
      replies.error(routingId, "BUSY", busy);
      return;
    }
    this.start(routingId, hello, decision.grant, checked, now);
  }

  /**
   * The outbox's id and head, or null when the hello cannot start a session
   * here (answered): it names another outbox, or a position past the head.
   * A relay that cannot serve this peer yet (it has not learnt its origin,
   * is behind the peer, or lacks records the peer needs) answers BUSY: the
   * peer waits, or tries its next endpoint (the origin, another relay).
   */
  private checkPosition(routingId: Buffer, hello: HelloFrame): Checked | null {
    const { records, replies } = this.deps;
    const { id, relayFloor } = this.deps.identity();
    if (id === null) {
      replies.error(routingId, "BUSY", "this relay has not stored a record from its origin yet: retry, or use another endpoint");
      return null;
    }
    if (hello.outbox !== null && hello.outbox !== id) {
      replies.error(routingId, "OUTBOX_MISMATCH", `this publisher's outbox is ${id}, not ${hello.outbox}`, id);
      return null;
    }
    const head = records.head();
    if (relayFloor !== null && hello.from > head) {
      replies.error(routingId, "BUSY", `this relay has stored up to seq ${head}, behind this peer (seq ${hello.from}): retry, or use another endpoint`);
      return null;
    }
    if (hello.from > head) {
      replies.error(routingId, "POSITION_AHEAD", `peer says it stored up to seq ${hello.from}, but the outbox head is ${head}`, String(head));
      return null;
    }
    return { id, head, relayFloor };
  }

  /** A relay lacks records the peer needs (it started relaying after them, or pruned them): answered BUSY. */
  private lacks(routingId: Buffer, from: number, relayFloor: number | null): boolean {
    if (relayFloor === null || from >= relayFloor) return false;
    const lacking = `seq ${from + 1} to ${relayFloor}`;
    this.deps.replies.error(routingId, "BUSY", `this relay does not hold ${lacking} (it started relaying after them, or pruned them): fetch them from the origin or another relay`);
    return true;
  }

  /** Why this key may not start a session on this connection now, or null. */
  private sessionRefusal(key: string, peerId: string, now: number): string | null {
    const { table, guard } = this.deps;
    if (!table.hasRoomFor(key)) return `this publisher already serves ${MAX_SESSIONS} sessions`;
    const previous = table.ofPeer(peerId);
    if (previous !== undefined && previous.key !== key && guard.retiredOf(peerId).size >= MAX_RETIRED_PER_KEY) {
      return `this key already has ${MAX_RETIRED_PER_KEY} older connections open: close them (they are found gone within a heartbeat)`;
    }
    if (!guard.sessionStart(peerId, now)) return "this key starts sessions too often: at most one every 2 s, retry";
    return null;
  }

  /** A verify run's session (verify-sessions.ts): answered by the verify desk, outside the session table. */
  private startVerify(routingId: Buffer, hello: HelloFrame, grant: PeerGrant, { id, head }: Checked, now: number): void {
    const { table, verifiers, replies, counters } = this.deps;
    const busy = verifiers.refusal(grant.peerId);
    if (busy !== null) {
      counters.limited++;
      replies.error(routingId, "BUSY", busy);
      return;
    }
    const onConnection = table.onConnection(routingId.toString("hex"));
    if (onConnection !== undefined) table.remove(onConnection, "its connection turned to verify");
    verifiers.start(routingId, grant.peerId, bothMatch(listMatcher(hello.lists), grant.allowed), now);
    this.welcome(routingId, id, head, hello.from, "router");
    replies.info(`verify:${grant.peerId}`, { peer: grant.peerId, name: grant.name }, "verify session started");
  }

  private start(routingId: Buffer, hello: HelloFrame, grant: PeerGrant, { id, head, relayFloor }: Checked, now: number): void {
    const { records, table, book, replies } = this.deps;
    this.deps.verifiers.end(routingId.toString("hex"));
    const mode = grant.mayUsePub && hello.lists === null ? "pub" : "router";
    const lists = bothMatch(listMatcher(hello.lists), grant.allowed);
    // A start point is for a peer with no state only: one that holds records is never moved past any.
    const fresh = hello.start !== undefined && hello.from === 0 && hello.outbox === null;
    const from = fresh ? resolveStart(hello.start!, records, lists, head) : hello.from;
    if (this.lacks(routingId, from, relayFloor)) return;
    const session = new Session({
      routingId,
      peerId: grant.peerId,
      name: grant.name,
      lists,
      mode,
      batches: hello.batches === true,
      from,
      floor: book.recordedAck(grant.peerId),
      credit: hello.credit,
      head,
      now,
    });
    const moved = table.add(session);
    if (moved !== null) this.deps.guard.retire(grant.peerId, moved);
    // Written with the next persist(): a write here could wait on another process's commit.
    book.started(session, hello.lists, now);
    this.logPrunedGap(session, from);
    this.welcome(routingId, id, head, from, mode);
    replies.info(`session:${grant.peerId}`, { peer: grant.peerId, name: grant.name, from, head, mode, ...(fresh ? { start: hello.start } : {}) }, "peer session started");
    this.deps.wake();
  }

  private welcome(routingId: Buffer, outbox: string, head: number, from: number, mode: DeliveryMode): void {
    const { records, pubEndpoint, heartbeatMs } = this.deps;
    this.deps.replies.send(routingId, {
      type: "welcome", outbox, head, first: records.first(), from, mode, pub: mode === "pub" ? pubEndpoint : null, heartbeat: heartbeatMs,
    });
  }

  private logPrunedGap(session: Session, from: number): void {
    const first = this.deps.records.first();
    if (from > 0 && first > from + 1) {
      this.deps.replies.log.error(
        { peer: session.peerId, missing: { from: from + 1, to: first - 1 } },
        "records this peer never acknowledged were pruned (it was not registered); they cannot be delivered",
      );
    }
  }

  /** A refused hello: counted, and logged at most once per 10 s per connection (and as the limiter allows overall). */
  private refused(connection: string, key: string | null, reason: string): void {
    this.deps.counters.refused++;
    const fields = { connection, ...(key === null ? {} : { key: fingerprint(key) }), reason };
    this.deps.replies.warn(`refused:${connection}`, fields, "refused a peer");
  }
}
