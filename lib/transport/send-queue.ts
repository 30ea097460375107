// One send queue per socket: zeromq.js allows one pending send, so sends
// are serialized here, never block the caller, and are bounded in bytes.

/** The part of a zeromq.js socket a queue needs. */
export interface Sendable {
  send(parts: Buffer[]): Promise<void>;
  readonly closed: boolean;
}

export type SendFailure = (err: Error & { code?: string }) => void;

/**
 * Serializes sends on one socket. Never blocks the caller: a send the socket
 * cannot take right now (sendTimeout 0) fails through `onFailure`. Bounded
 * in bytes, so a flood never grows memory without bound.
 */
export class SendQueue {
  private readonly queue: Array<{ parts: Buffer[]; bytes: number; onFailure: SendFailure | undefined }> = [];
  private draining = false;
  private bytesQueued = 0;

  /** Beyond `maxBytes` waiting, a send fails at once. */
  constructor(
    private readonly socket: Sendable,
    private readonly maxBytes = 256 * 1024 * 1024,
  ) {}

  get length(): number {
    return this.queue.length;
  }

  get bytes(): number {
    return this.bytesQueued;
  }

  push(parts: Buffer[], onFailure?: SendFailure): void {
    const bytes = parts.reduce((sum, part) => sum + part.length, 0);
    if (this.bytesQueued + bytes > this.maxBytes && this.queue.length > 0) {
      onFailure?.(Object.assign(new Error("send queue full"), { code: "EAGAIN" }));
      return;
    }
    this.queue.push({ parts, bytes, onFailure });
    this.bytesQueued += bytes;
    if (!this.draining) void this.drain();
  }

  /** Forget what waits for `first` (a routing id): it is no longer anyone's to receive. */
  discard(first: Buffer): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const item = this.queue[i]!;
      if (item.parts[0]?.equals(first)) {
        this.queue.splice(i, 1);
        this.bytesQueued -= item.bytes;
      }
    }
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      let item;
      while ((item = this.queue.shift()) !== undefined) {
        this.bytesQueued -= item.bytes;
        if (this.socket.closed) return;
        try {
          await this.socket.send(item.parts);
        } catch (err) {
          item.onFailure?.(err as Error);
        }
      }
    } finally {
      this.draining = false;
    }
  }
}

