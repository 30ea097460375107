// What one connection and one key may cost serve, whatever they send: how
// often a connection may say hello, how often a key may start a session,
// how many of a key's older connections may stay open beside its current
// one (each holds what was queued for it), and which connections are no
// longer read at all (a revoked key's). Pure: the clock comes in, answers
// go out, and every table is bounded.

import { BoundedMap } from "../bounded-map.js";

/** A hello costs an HMAC (and an X25519 for a new key): a connection gets a burst of 10, then 2 a second. */
const HELLO_BURST = 10;
const HELLOS_PER_SECOND = 2;
/** Starting a session resets a stream: a key gets a burst of 5, then one every 2 s. */
const SESSION_BURST = 5;
const SESSIONS_PER_SECOND = 0.5;
/** A key's connections replaced by a newer one that may still be open (until a probe finds them gone). */
export const MAX_RETIRED_PER_KEY = 4;
/** Bounds of the tables: past these, the oldest entries go. */
const MAX_CONNECTIONS = 20_000;
const MAX_KEYS = 20_000;

interface Bucket {
  tokens: number;
  at: number;
}

function take(bucket: Bucket, burst: number, perSecond: number, now: number): boolean {
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

export type HelloVerdict = "ok" | "refuse" | "drop";

export class PeerGuard {
  private readonly hellos = new BoundedMap<string, Bucket & { refusedAt: number }>(MAX_CONNECTIONS);
  private readonly sessions = new BoundedMap<string, Bucket>(MAX_KEYS);
  /** Per key: its older connections that may still be open; and whose each one is. */
  private readonly retired = new BoundedMap<string, Set<string>>(MAX_KEYS);
  private readonly retiredBy = new BoundedMap<string, string>(MAX_KEYS * MAX_RETIRED_PER_KEY);
  private readonly banned = new BoundedMap<string, true>(MAX_CONNECTIONS);

  /**
   * May this connection's hello be looked at? Over its rate it is refused
   * (with a BUSY answer at most once a second), or dropped unanswered.
   */
  hello(connection: string, now: number): HelloVerdict {
    let bucket = this.hellos.get(connection);
    if (bucket === undefined) {
      bucket = { tokens: HELLO_BURST, at: now, refusedAt: 0 };
      this.hellos.set(connection, bucket);
    }
    if (take(bucket, HELLO_BURST, HELLOS_PER_SECOND, now)) return "ok";
    if (now - bucket.refusedAt < 1000) return "drop";
    bucket.refusedAt = now;
    return "refuse";
  }

  /** May this key start another session now? */
  sessionStart(peerId: string, now: number): boolean {
    let bucket = this.sessions.get(peerId);
    if (bucket === undefined) {
      bucket = { tokens: SESSION_BURST, at: now };
      this.sessions.set(peerId, bucket);
    }
    return take(bucket, SESSION_BURST, SESSIONS_PER_SECOND, now);
  }

  /** The key's older connections that may still be open. */
  retiredOf(peerId: string): ReadonlySet<string> {
    return this.retired.get(peerId) ?? new Set();
  }

  /** The key's session moved off `connection`: nothing more is read from it or sent to it. */
  retire(peerId: string, connection: string): void {
    let set = this.retired.get(peerId);
    if (set === undefined) {
      set = new Set();
      this.retired.set(peerId, set);
    }
    set.add(connection);
    this.retiredBy.set(connection, peerId);
    this.ban(connection);
  }

  /** Older connections to probe: a send to one that has closed fails, and it is forgotten. */
  probeList(): string[] {
    return [...this.retiredBy.keys()];
  }

  /** The connection is gone (a send to it found no peer). */
  gone(connection: string): void {
    this.banned.delete(connection);
    this.hellos.delete(connection);
    const peerId = this.retiredBy.get(connection);
    if (peerId === undefined) return;
    this.retiredBy.delete(connection);
    const set = this.retired.get(peerId);
    if (set?.delete(connection) && set.size === 0) this.retired.delete(peerId);
  }

  /** Stop reading this connection: its frames are dropped undecoded. */
  ban(connection: string): void {
    this.banned.set(connection, true);
  }

  isBanned(connection: string): boolean {
    return this.banned.has(connection);
  }
}
