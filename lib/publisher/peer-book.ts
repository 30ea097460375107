// What the outbox's peer table must learn from the sessions: who started a
// session, what each acknowledged, when each was last heard, what ended
// sessions left. Kept in memory and written in one transaction every round,
// so a frame never waits for a lock; pruning and `status` read the table.

import { isOutboxBusy } from "../errors.js";
import type { PeerLedger, PeerProgress, PeerRegistration } from "../store/peer-ledger.js";
import type { Session } from "./session.js";

/** A live peer's liveness is written at least this often, even with nothing new. */
const LAST_SEEN_PERSIST_MS = 5000;

function update(s: Session): PeerProgress {
  return {
    id: s.peerId,
    acked: s.acked,
    ackedAt: s.ackedAt,
    lastSeen: s.lastHeard,
    ...(s.deadLetters === undefined ? {} : { deadLetters: s.deadLetters }),
  };
}

export class PeerBook {
  private readonly persistedAt = new Map<string, number>();
  /** Peers that started a session since the last write. */
  private readonly registrations = new Map<string, PeerRegistration>();
  /** Final state of sessions that ended since the last write. */
  private readonly ended = new Map<string, PeerProgress>();

  constructor(private readonly peers: Pick<PeerLedger, "write" | "ackedOf">) {}

  /** A session started: the peer is registered (at what it says it holds) with the next write. */
  started(session: Session, lists: string[] | null, now: number): void {
    this.registrations.set(session.peerId, { id: session.peerId, name: session.name, lists, acked: session.acked, at: now });
    this.persistedAt.set(session.peerId, now);
  }

  /** A session left the table: its last state goes out with the next write. */
  endedSession(session: Session): void {
    if (session.dirty) this.ended.set(session.peerId, update(session));
  }

  /** The peer left the allowlist: nothing of it is written any more (its row is gone). */
  forget(peerId: string): void {
    this.registrations.delete(peerId);
    this.ended.delete(peerId);
    this.persistedAt.delete(peerId);
  }

  /** The peer's acknowledged seq as recorded (a hello below it does not move it back); 0 while the outbox is busy. */
  recordedAck(peerId: string): number {
    try {
      return this.peers.ackedOf(peerId) ?? 0;
    } catch (err) {
      if (isOutboxBusy(err)) return 0;
      throw err;
    }
  }

  /**
   * Write registrations, acks and liveness. The daemon's connection never
   * waits for a lock (it would stall every peer): when another process is
   * writing, it tries again on the next call.
   */
  persist(live: Iterable<Session>, now = Date.now()): void {
    const updates = new Map(this.ended);
    const written: Session[] = [];
    for (const s of live) {
      if (!s.dirty && now - (this.persistedAt.get(s.peerId) ?? 0) < LAST_SEEN_PERSIST_MS) continue;
      updates.set(s.peerId, update(s));
      written.push(s);
    }
    try {
      this.peers.write([...this.registrations.values()], [...updates.values()]);
    } catch (err) {
      if (isOutboxBusy(err)) return;
      throw err;
    }
    this.registrations.clear();
    this.ended.clear();
    for (const s of written) s.persisted();
    for (const id of updates.keys()) this.persistedAt.set(id, now);
  }

  /** The lowest position a peer registered since the last write holds (the table does not know it yet). */
  lowestRegistered(): number {
    let low = Infinity;
    for (const r of this.registrations.values()) low = Math.min(low, r.acked);
    return low;
  }
}
