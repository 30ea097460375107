// How the control side talks back to peers and about them: frames queued
// on the ROUTER (a failed send reported against its session), error
// replies with wire codes, and log lines that any one peer, connection or
// address can trigger only so often.

import { RateLimiter, type Logger } from "../log.js";
import type { RouterSocket, SendFailure } from "../transport/zmq.js";
import { encode } from "../wire/codec.js";
import type { WireErrorCode } from "../wire/errors.js";
import type { Frame } from "../wire/frames.js";

export class Replies {
  /** Separate budgets: a flood of refusals from fresh connections must not silence session lines. */
  private readonly warnings = new RateLimiter(10_000);
  private readonly sessions = new RateLimiter(10_000);

  constructor(
    private readonly router: Pick<RouterSocket, "send">,
    readonly log: Logger,
  ) {}

  send(routingId: Buffer, frame: Frame, onFailure?: SendFailure): void {
    this.router.send(routingId, encode(frame), onFailure);
  }

  error(routingId: Buffer, code: WireErrorCode, message: string, detail: string | null = null): void {
    this.send(routingId, { type: "err", code, message, detail });
  }

  /** A warning a peer can cause: at most once per 10 s per key (and 100 lines per 10 s in all). */
  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const suppressed = this.warnings.allow(key);
    if (suppressed !== null) this.log.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }

  /** Session starts and ends, at a peer's pace: the same limits, with how many were not logged. */
  info(key: string, fields: Record<string, unknown>, message: string): void {
    const suppressed = this.sessions.allow(key);
    if (suppressed !== null) this.log.info(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
