// The subscriber's two sockets: DEALER to the publisher's ROUTER (control,
// catch-up, repair) and, once the publisher says so, SUB to its PUB (live).
// Decodes what arrives and hands typed frames up; malformed input is
// counted and logged, never fatal.

import { ProtocolError } from "../errors.js";
import { RateLimiter, type Logger } from "../log.js";
import { pubEndpointFor } from "../publisher/endpoints.js";
import { DealerSocket, SubSocket, type CurveClient } from "../transport/zmq.js";
import { decode, encode } from "../wire/codec.js";
import type { Frame } from "../wire/frames.js";

export type Source = "router" | "pub";

export interface LinkHandlers {
  onFrame(frame: Frame, source: Source): void;
  onConnection(up: boolean): void;
  onHandshakeFailure(kind: "auth" | "protocol", detail: string): void;
  onSocketError(err: Error): void;
}

export interface LinkOptions {
  connect: string;
  heartbeatMs: number;
  curve?: CurveClient;
  log: Logger;
  handlers: LinkHandlers;
}

export class Link {
  private readonly dealer: DealerSocket;
  private sub: SubSocket | null = null;
  private readonly limiter = new RateLimiter(10_000);
  badFrames = 0;

  constructor(private readonly o: LinkOptions) {
    this.dealer = DealerSocket.connect(o.connect, {
      heartbeatMs: o.heartbeatMs,
      receiveHighWaterMark: 100_000,
      ...(o.curve ? { curve: o.curve } : {}),
      events: {
        onMessage: (parts) => this.receive(parts, "router"),
        onError: o.handlers.onSocketError,
        onConnection: o.handlers.onConnection,
        onHandshakeFailure: o.handlers.onHandshakeFailure,
      },
    });
  }

  /** Send a control frame; false-y failures are fine, timers repeat what matters. */
  send(frame: Frame, onFailure?: () => void): void {
    this.dealer.send(encode(frame), onFailure);
  }

  /** Follow the publisher's PUB socket at the endpoint it announced. */
  followPub(announced: string): void {
    const endpoint = pubEndpointFor(this.o.connect, announced);
    if (this.sub?.endpoint === endpoint) return;
    this.sub?.close();
    this.sub = SubSocket.connect(endpoint, {
      heartbeatMs: this.o.heartbeatMs,
      receiveHighWaterMark: 1_000,
      ...(this.o.curve ? { curve: this.o.curve } : {}),
      events: {
        onMessage: (parts) => this.receive(parts, "pub"),
        onError: this.o.handlers.onSocketError,
        onHandshakeFailure: this.o.handlers.onHandshakeFailure,
      },
    });
    this.o.log.debug({ endpoint }, "following PUB");
  }

  /** Stop following PUB (the publisher serves us over ROUTER only). */
  unfollowPub(): void {
    this.sub?.close();
    this.sub = null;
  }

  private receive(parts: Buffer[], source: Source): void {
    let frame: Frame;
    try {
      frame = decode(parts);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.badFrames++;
      const suppressed = this.limiter.allow(`${source}:${err.code}`);
      if (suppressed !== null) this.o.log.warn({ source, code: err.code, reason: err.message, suppressed }, "ignored a malformed frame");
      return;
    }
    if (source === "pub" && frame.type !== "data") return;
    this.o.handlers.onFrame(frame, source);
  }

  close(): void {
    this.sub?.close();
    this.sub = null;
    this.dealer.close();
  }
}
