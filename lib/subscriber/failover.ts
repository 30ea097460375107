// Which of a subscriber's endpoints to use (`--connect` given several: the
// origin and its relays, in order of preference). Pure: time and whether a
// session is open come in, the endpoint to switch to comes out.
//
// - No session for `failoverMs` (the endpoint is down, refuses us, or is a
//   relay that cannot serve us yet: it answers BUSY): the next endpoint, in
//   a ring.
// - On a later endpoint with a session open for `returnMs`: back to the
//   first, the preferred one (if it still cannot serve us, the rule above
//   moves on again).
//
// A switch costs a new hello from the peer's position: every endpoint
// speaks of the same records under the same seqs (a relay keeps the
// origin's identity), so nothing is skipped or repeated.

export interface FailoverOptions {
  /** Without a session this long, try the next endpoint. */
  failoverMs: number;
  /** On a later endpoint, try the first again after a session this long. */
  returnMs: number;
}

export const DEFAULT_FAILOVER: FailoverOptions = { failoverMs: 10_000, returnMs: 5 * 60_000 };

export class Failover {
  private index = 0;
  private switchedAt: number;
  private lastSession: number;

  constructor(
    private readonly count: number,
    private readonly o: FailoverOptions,
    now: number,
  ) {
    this.switchedAt = now;
    this.lastSession = now;
  }

  get current(): number {
    return this.index;
  }

  /** The endpoint to switch to now, with why, or null to stay. */
  tick(now: number, sessionOpen: boolean): { index: number; why: string } | null {
    if (this.count < 2) return null;
    if (sessionOpen) {
      this.lastSession = now;
      if (this.index !== 0 && now - this.switchedAt >= this.o.returnMs) return this.switch(0, now, "back to the first endpoint");
      return null;
    }
    if (now - this.lastSession >= this.o.failoverMs) {
      return this.switch((this.index + 1) % this.count, now, `no session for ${Math.round((now - this.lastSession) / 1000)} s`);
    }
    return null;
  }

  private switch(index: number, now: number, why: string): { index: number; why: string } {
    this.index = index;
    this.switchedAt = now;
    this.lastSession = now;
    return { index, why };
  }
}
