// The subscriber's side of credit-based flow control (zguide ch. 7). The
// publisher may send a ROUTER stream only as many bytes as we granted; we
// grant again as records leave memory (stored, or dropped as duplicates).
// Each hello or fetch starts a new epoch with a fresh grant, and records of
// an older epoch no longer return credit, so memory stays within the window.
// It also counts the PUB records in memory, which no credit bounds: the
// subscriber pauses PUB when they pass a limit.

export interface Held {
  source: "router" | "pub";
  creditEpoch: number;
  bytes: number;
}

/** Credit taken to send, with the epoch it belongs to. */
export interface Grant {
  bytes: number;
  epoch: number;
}

export class CreditWindow {
  private epochNow = 0;
  private toReturn = 0;
  private held = 0;
  private pubHeld = 0;

  /** @param window bytes the publisher may have in flight to us */
  constructor(readonly window: number) {}

  get epoch(): number {
    return this.epochNow;
  }

  /** Bytes of ROUTER records in memory (any epoch). */
  get bytesHeld(): number {
    return this.held;
  }

  /** Bytes of PUB records in memory. */
  get pubBytesHeld(): number {
    return this.pubHeld;
  }

  /** A hello or fetch: start over, returning the grant to send with it. */
  restart(): number {
    this.epochNow++;
    this.toReturn = 0;
    return Math.max(this.window / 4, this.window - this.held);
  }

  /** A record arrived and is now held. */
  received(bytes: number, source: Held["source"] = "router"): void {
    if (source === "router") this.held += bytes;
    else this.pubHeld += bytes;
  }

  /** A record left memory. Returns whether enough credit is due to send it now. */
  release(entry: Held): boolean {
    if (entry.source === "pub") {
      this.pubHeld -= entry.bytes;
      return false;
    }
    this.held -= entry.bytes;
    if (entry.creditEpoch === this.epochNow) this.toReturn += entry.bytes;
    return this.due;
  }

  /** Enough credit came back to be worth sending. */
  get due(): boolean {
    return this.toReturn >= this.window / 8;
  }

  /** Credit to send now (and forget), with the epoch it belongs to. */
  take(): Grant | null {
    if (this.toReturn <= 0) return null;
    const grant = { bytes: this.toReturn, epoch: this.epochNow };
    this.toReturn = 0;
    return grant;
  }

  /** A credit frame could not be sent: keep the bytes if the epoch still counts them. */
  unsent(grant: Grant): void {
    if (grant.epoch === this.epochNow) this.toReturn += grant.bytes;
  }

  /** We hold so much that the stream waiting is our doing, not a lost frame. */
  get congested(): boolean {
    return this.held > this.window / 2;
  }
}
