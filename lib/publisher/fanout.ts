// Live fan-out on PUB: every newly committed record goes out once, chained
// to the record before it. PUB drops for a subscriber that cannot keep up;
// the chain lets that subscriber notice and repair over ROUTER. While every
// pub-mode peer accepts batch frames, records committed together go out in
// batches (a peer that cannot read one repairs the gap over ROUTER).

import type { Logger } from "../log.js";
import type { OutboxRecord, RecordLog } from "../store/record-log.js";
import type { PubSocket } from "../transport/zmq.js";
import { encodeRun, messagesFor } from "../wire/codec.js";

const CHUNK = { limit: 256, maxBytes: 4 * 1024 * 1024 };
/**
 * PUB's high-water mark counts messages, not bytes, so large bodies stay off
 * PUB: a subscriber stalled on PUB then pins at most HWM × this much. Peers
 * see the gap in the chain and take such records over ROUTER. A batch's
 * bodies stay within it too.
 */
export const PUB_MAX_BODY = 64 * 1024;

/** Who follows PUB: nobody, or peers that all accept batch frames, or some that do not. */
export type PubListeners = "none" | "batches" | "data";
/** Pause reading while this many messages wait for the socket. */
const MAX_QUEUED = 512;

export class Fanout {
  /** The last seq put on PUB: the `prev` of the next. */
  private last: number;
  private target: number;
  private running = false;
  private closed = false;

  constructor(
    private readonly records: Pick<RecordLog, "readAfter">,
    private pub: PubSocket,
    private readonly log: Logger,
    start: number,
    /** Who follows PUB now: asked per chunk, as peers come and go during a long fan-out. */
    private readonly listeners: () => PubListeners,
  ) {
    this.last = start;
    this.target = start;
  }

  get endpoint(): string {
    return this.pub.endpoint;
  }

  /**
   * Close PUB and bind it again at the same endpoint, so every subscriber
   * reconnects through the authenticator (a key lost the right to follow it).
   */
  async rebind(bind: (endpoint: string) => Promise<PubSocket>): Promise<void> {
    const endpoint = this.pub.endpoint;
    this.pub.close();
    for (let attempt = 0; ; attempt++) {
      try {
        const pub = await bind(endpoint);
        if (this.closed) pub.close(); // the publisher closed meanwhile
        else this.pub = pub;
        return;
      } catch (err) {
        if (attempt >= 100) throw err;
        await new Promise((resolve) => setTimeout(resolve, 20)); // the old socket releases the port asynchronously
      }
    }
  }

  close(): void {
    this.closed = true;
    this.pub.close();
  }

  /**
   * Publish everything up to `head`. With no pub-mode peer connected the
   * bodies are not read at all; the chain still moves, so a peer that joins
   * mid-way sees a gap and repairs it.
   */
  async advance(head: number): Promise<void> {
    this.target = Math.max(this.target, head);
    if (this.running) return;
    this.running = true;
    try {
      while (this.last < this.target) {
        const listening = this.listeners();
        if (listening === "none") {
          this.last = this.target;
          break;
        }
        const records = this.records.readAfter(this.last, CHUNK);
        if (records.length === 0) {
          this.last = this.target; // the rest was pruned
          break;
        }
        this.publish(records, listening === "batches");
        while (this.pub.queued > MAX_QUEUED) await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.log.error({ err }, "live fan-out failed; peers will repair over ROUTER");
    } finally {
      this.running = false;
    }
  }

  /** Records in order, leaving out those too large for PUB. */
  private publish(records: readonly OutboxRecord[], batches: boolean): void {
    let run: OutboxRecord[] = [];
    for (const record of records) {
      if (record.size <= PUB_MAX_BODY) {
        run.push(record);
        continue;
      }
      this.publishRun(run, batches);
      run = [];
      this.last = record.seq; // not on PUB: the gap sends peers to ROUTER for it
    }
    this.publishRun(run, batches);
  }

  private publishRun(run: readonly OutboxRecord[], batches: boolean): void {
    for (const records of messagesFor(run, batches, PUB_MAX_BODY)) {
      this.pub.publish(encodeRun(records, this.last));
      this.last = records[records.length - 1]!.seq;
    }
  }
}
