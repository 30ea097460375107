// The publisher's sessions, one table that the control side (hellos,
// acks, heartbeats), the streamer and the fan-out all read: one session per
// connection and one per peer identity. Sessions enter and leave only here;
// leaving drops what waits for the session in the send queue and hands its
// final state to whoever persists it.

import type { RouterSocket } from "../transport/zmq.js";
import type { PubListeners } from "./fanout.js";
import type { Session } from "./session.js";

/** More sessions than this is a flood (each is a connection), not a deployment. */
export const MAX_SESSIONS = 10_000;

export interface SessionTableDeps {
  router: Pick<RouterSocket, "discard">;
  /** A session left the table (its final acknowledgement must be written). */
  onEnded: (session: Session) => void;
  /** Session starts and ends, logged at most once per 10 s per peer. */
  log: (key: string, fields: Record<string, unknown>, message: string) => void;
}

export class SessionTable {
  private readonly bySocket = new Map<string, Session>();
  private readonly byPeer = new Map<string, Session>();

  constructor(private readonly deps: SessionTableDeps) {}

  get size(): number {
    return this.bySocket.size;
  }

  all(): Iterable<Session> {
    return this.bySocket.values();
  }

  /** The session on this connection (routing id in hex). */
  onConnection(key: string): Session | undefined {
    return this.bySocket.get(key);
  }

  ofPeer(peerId: string): Session | undefined {
    return this.byPeer.get(peerId);
  }

  /** Whether `session` is still the one in the table (a late callback may hold an ended one). */
  current(session: Session): boolean {
    return this.bySocket.get(session.key) === session;
  }

  /** Whether a session on this connection could start now without passing MAX_SESSIONS. */
  hasRoomFor(key: string): boolean {
    return this.bySocket.size < MAX_SESSIONS || this.bySocket.has(key);
  }

  /**
   * Add a session, ending any on the same connection or of the same peer.
   * Returns the connection of the peer's previous session when it was
   * another one (it is no longer the peer's: the caller retires it).
   */
  add(session: Session): string | null {
    const onSocket = this.bySocket.get(session.key);
    if (onSocket) this.remove(onSocket, "restarted its session");
    const previous = this.byPeer.get(session.peerId);
    if (previous) this.remove(previous, "replaced by a newer connection");
    this.bySocket.set(session.key, session);
    this.byPeer.set(session.peerId, session);
    return previous && previous.key !== session.key ? previous.key : null;
  }

  remove(session: Session, why: string): void {
    if (this.bySocket.get(session.key) === session) this.bySocket.delete(session.key);
    if (this.byPeer.get(session.peerId) === session) {
      this.byPeer.delete(session.peerId);
      this.deps.onEnded(session);
    }
    this.deps.router.discard(session.routingId);
    this.deps.log(`ended:${session.peerId}`, { peer: session.peerId, acked: session.acked }, `peer session ended: ${why}`);
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

  /** The lowest position a live session needs kept. */
  lowestPosition(): number {
    let low = Infinity;
    for (const s of this.bySocket.values()) low = Math.min(low, s.retains);
    return low;
  }
}
