// Puts records from two feeds (PUB and the ROUTER stream) back into one
// gap-free chain. Each entry says which seq it follows (`prev`): "nothing for
// you between prev and seq". So an entry is released when prev <= position
// < seq, is a duplicate when seq <= position, and is held otherwise, until
// the gap before it is filled. Holding is bounded; what does not fit is
// dropped and fetched again later. Pure: no I/O, no clock.

export interface ChainEntry {
  seq: number;
  prev: number;
  /** Memory the entry holds, for the bound. */
  bytes: number;
}

export type OfferResult = "released" | "duplicate" | "held" | "dropped";

export interface ReorderLimits {
  maxEntries: number;
  maxBytes: number;
}

export class ReorderBuffer<T extends ChainEntry> {
  private readonly held = new Map<number, T>();
  private heldBytes = 0;
  private minHeldPrev = Infinity;
  private out: T[] = [];

  constructor(
    private pos: number,
    private readonly limits: ReorderLimits,
  ) {}

  /** The end of the gap-free chain released so far. */
  get position(): number {
    return this.pos;
  }

  get heldCount(): number {
    return this.held.size;
  }

  get bytesHeld(): number {
    return this.heldBytes;
  }

  /** Whether anything is waiting for a gap to be filled. */
  get hasGap(): boolean {
    return this.held.size > 0;
  }

  offer(entry: T, onDiscard?: (entry: T) => void): OfferResult {
    if (entry.seq <= this.pos) return "duplicate";
    if (entry.prev <= this.pos) {
      this.release(entry);
      this.releaseHeld(onDiscard);
      return "released";
    }
    const existing = this.held.get(entry.prev);
    if (existing !== undefined) return "duplicate";
    if (this.held.size >= this.limits.maxEntries || this.heldBytes + entry.bytes > this.limits.maxBytes) return "dropped";
    this.held.set(entry.prev, entry);
    this.heldBytes += entry.bytes;
    this.minHeldPrev = Math.min(this.minHeldPrev, entry.prev);
    return "held";
  }

  /** Take what was released, in chain order. */
  take(): T[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  /** Start over at `position` (a new outbox): everything held is discarded. */
  reset(position: number, onDiscard?: (entry: T) => void): void {
    for (const entry of this.held.values()) onDiscard?.(entry);
    for (const entry of this.out) onDiscard?.(entry);
    this.held.clear();
    this.heldBytes = 0;
    this.minHeldPrev = Infinity;
    this.out = [];
    this.pos = position;
  }

  private release(entry: T): void {
    this.out.push(entry);
    this.pos = entry.seq;
  }

  /** Release held entries that now follow the chain; drop those it has passed. */
  private releaseHeld(onDiscard?: (entry: T) => void): void {
    while (this.minHeldPrev <= this.pos) {
      const next = this.held.get(this.pos);
      if (next !== undefined) {
        this.remove(next);
        this.release(next);
        continue;
      }
      // Slow path: an entry whose prev is below the position, or stale entries.
      let progressed = false;
      let min = Infinity;
      for (const entry of [...this.held.values()]) {
        if (entry.seq <= this.pos) {
          this.remove(entry);
          onDiscard?.(entry);
        } else if (entry.prev <= this.pos) {
          this.remove(entry);
          this.release(entry);
          progressed = true;
          break;
        } else {
          min = Math.min(min, entry.prev);
        }
      }
      if (!progressed) {
        this.minHeldPrev = min;
        return;
      }
    }
  }

  private remove(entry: T): void {
    this.held.delete(entry.prev);
    this.heldBytes -= entry.bytes;
    if (this.held.size === 0) this.minHeldPrev = Infinity;
  }
}
