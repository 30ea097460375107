// Live fan-out on PUB: every newly committed record goes out once, chained
// to the record before it. PUB drops for a subscriber that cannot keep up;
// the chain lets that subscriber notice and repair over ROUTER.

import type { Logger } from "../log.js";
import type { Outbox } from "../store/outbox.js";
import type { PubSocket } from "../transport/zmq.js";
import { encodeDataHeader } from "../wire/codec.js";

const CHUNK = { limit: 256, maxBytes: 4 * 1024 * 1024 };
/**
 * PUB's high-water mark counts messages, not bytes, so large bodies stay off
 * PUB: a subscriber stalled on PUB then pins at most HWM × this much. Peers
 * see the gap in the chain and take such records over ROUTER.
 */
export const PUB_MAX_BODY = 64 * 1024;
/** Pause reading while this many messages wait for the socket. */
const MAX_QUEUED = 512;

export class Fanout {
  /** The last seq put on PUB: the `prev` of the next. */
  private last: number;
  private target: number;
  private listening = false;
  private running = false;

  constructor(
    private readonly outbox: Outbox,
    private pub: PubSocket,
    private readonly log: Logger,
    start: number,
  ) {
    this.last = start;
    this.target = start;
  }

  /** After PUB was rebound. */
  useSocket(pub: PubSocket): void {
    this.pub = pub;
  }

  get lastPublished(): number {
    return this.last;
  }

  /**
   * Publish everything up to `head`. With no pub-mode peer connected the
   * bodies are not read at all; the chain still moves, so a peer that joins
   * mid-way sees a gap and repairs it.
   */
  async advance(head: number, anyListener: boolean): Promise<void> {
    this.target = Math.max(this.target, head);
    this.listening = anyListener;
    if (this.running) return;
    this.running = true;
    try {
      while (this.last < this.target) {
        if (!this.listening) {
          this.last = this.target;
          break;
        }
        const records = this.outbox.readAfter(this.last, CHUNK);
        if (records.length === 0) {
          this.last = this.target; // the rest was pruned
          break;
        }
        for (const r of records) {
          if (r.size <= PUB_MAX_BODY) this.pub.publish([encodeDataHeader({ ...r, prev: this.last }), r.body]);
          this.last = r.seq;
        }
        while (this.pub.queued > MAX_QUEUED) await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.log.error({ err }, "live fan-out failed; peers will repair over ROUTER");
    } finally {
      this.running = false;
    }
  }
}
