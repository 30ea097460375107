// The sessions of `verify` runs (a hello with `verify`): authorized as a
// peer's session is, and answered by the verify desk, but outside the
// session table. They stream nothing, register nothing and leave the
// peer's own session alone, so `verify` may run beside `subscribe` with the
// same key. Bounded: VERIFY_SESSIONS_PER_KEY per key (its oldest is ended
// for a new one) and VERIFY_SESSIONS in all (then a key without one is
// answered BUSY), and ended when idle for IDLE_MS.

import type { ListMatcher } from "../security/list-match.js";
import type { VerifySession } from "../verify/desk.js";

/** At most this many verify sessions at once, and per key. */
export const VERIFY_SESSIONS = 256;
export const VERIFY_SESSIONS_PER_KEY = 2;
/** A verify run asks its next question within milliseconds; one silent this long is gone. */
const IDLE_MS = 60_000;

interface Entry extends VerifySession {
  heardAt: number;
}

export class VerifySessions {
  /** By connection (routing id in hex), oldest first. */
  private readonly byConnection = new Map<string, Entry>();

  get size(): number {
    return this.byConnection.size;
  }

  onConnection(key: string): VerifySession | undefined {
    return this.byConnection.get(key);
  }

  /** Why another one for `peerId` cannot start now (all are taken by other keys), or null. */
  refusal(peerId: string): string | null {
    if (this.byConnection.size < VERIFY_SESSIONS) return null;
    if ([...this.byConnection.values()].some((e) => e.peerId === peerId)) return null;
    return `this publisher already answers ${VERIFY_SESSIONS} verify runs: retry later`;
  }

  /** Start one on this connection, ending the key's oldest when it has too many. */
  start(routingId: Buffer, peerId: string, lists: ListMatcher, now: number): void {
    const key = routingId.toString("hex");
    this.byConnection.delete(key);
    const ofPeer = [...this.byConnection].filter(([, e]) => e.peerId === peerId).map(([k]) => k);
    // Only the key's own (refusal() said a full table holds one of them): no key ends another's.
    const over = Math.max(ofPeer.length - VERIFY_SESSIONS_PER_KEY + 1, this.byConnection.size >= VERIFY_SESSIONS ? 1 : 0);
    const ended = ofPeer.slice(0, over);
    for (const k of ended) this.byConnection.delete(k);
    this.byConnection.set(key, { routingId, peerId, lists, heardAt: now });
  }

  heard(key: string, now: number): void {
    const e = this.byConnection.get(key);
    if (e !== undefined) e.heardAt = now;
  }

  end(key: string): boolean {
    return this.byConnection.delete(key);
  }

  /** End the sessions of `peerId` (its key was revoked or changed); returns their connections. */
  endPeer(peerId: string): string[] {
    const ended = [...this.byConnection].filter(([, e]) => e.peerId === peerId).map(([k]) => k);
    for (const k of ended) this.byConnection.delete(k);
    return ended;
  }

  /** End the sessions idle for IDLE_MS; returns how many. */
  expire(now: number): number {
    let n = 0;
    for (const [k, e] of this.byConnection) {
      if (now - e.heardAt < IDLE_MS) continue;
      this.byConnection.delete(k);
      n++;
    }
    return n;
  }
}
