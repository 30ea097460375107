// The subscriber's two sockets: DEALER to the publisher's ROUTER (control,
// catch-up, repair) and, once the publisher says so, SUB to its PUB (live).
// Decodes what arrives and hands typed frames up; malformed input is
// counted and logged, never fatal. A
// refused key is retried here: libzmq does not reconnect after an
// authentication failure, so the sockets are rebuilt with backoff (the key
// may be added to the peers file later).

import { ProtocolError } from "../errors.js";
import { RateLimiter, type Logger } from "../log.js";
import { pubEndpointFor } from "../transport/endpoints.js";
import { DealerSocket, SubSocket, type ClientEvents, type CurveClient } from "../transport/zmq.js";
import { decode, encode } from "../wire/codec.js";
import type { Frame } from "../wire/frames.js";

export type Source = "router" | "pub";

export interface LinkHandlers {
  onFrame(frame: Frame, source: Source): void;
  /** The connection came up or went down (a rebuilt link counts as down). */
  onConnection(up: boolean): void;
  onSocketError(err: Error): void;
}

export interface LinkOptions {
  connect: string;
  heartbeatMs: number;
  curve?: CurveClient;
  /** Our key's fingerprint, for the log when the publisher refuses it. */
  keyName?: string;
  log: Logger;
  /** Where malformed frames are counted. */
  counters: { badFrames: number };
  handlers: LinkHandlers;
}

const RELINK_MIN_MS = 1000;
const RELINK_MAX_MS = 30_000;

export class Link {
  private dealer: DealerSocket;
  private sub: SubSocket | null = null;
  private announced: string | null = null;
  private pubPaused = false;
  private readonly limiter = new RateLimiter(10_000);
  private relinkTimer: NodeJS.Timeout | null = null;
  private relinkDelay = RELINK_MIN_MS;
  private closed = false;
  private warnedProtocol = false;
  private endpoint: string;
  private curve: CurveClient | undefined;

  constructor(private readonly o: LinkOptions) {
    this.endpoint = o.connect;
    this.curve = o.curve;
    this.dealer = this.connectDealer();
  }

  /** Connect to another endpoint (failover): new sockets, and the session is lost. */
  retarget(endpoint: string, curve: CurveClient | undefined): void {
    this.endpoint = endpoint;
    this.curve = curve;
    this.announced = null;
    this.relinkDelay = RELINK_MIN_MS;
    if (this.relinkTimer !== null) clearTimeout(this.relinkTimer);
    this.rebuild();
  }

  private events(source: Source): ClientEvents {
    return {
      onMessage: (parts) => this.receive(parts, source),
      onError: this.o.handlers.onSocketError,
      ...(source === "router" ? { onConnection: (up: boolean) => this.o.handlers.onConnection(up) } : {}),
      onHandshakeFailure: (kind, detail) => this.handshakeFailed(kind, detail),
    };
  }

  private connectDealer(): DealerSocket {
    return DealerSocket.connect(this.endpoint, {
      heartbeatMs: this.o.heartbeatMs,
      receiveHighWaterMark: 100_000,
      ...(this.curve ? { curve: this.curve } : {}),
      events: this.events("router"),
    });
  }

  /** Send a control frame; failures are fine, timers repeat what matters. */
  send(frame: Frame, onFailure?: () => void): void {
    this.dealer.send(encode(frame), onFailure);
  }

  /** A session started: the key was accepted, so the next refusal starts the backoff over. */
  accepted(): void {
    this.relinkDelay = RELINK_MIN_MS;
  }

  /** Follow the publisher's PUB socket at the endpoint it announced. */
  followPub(announced: string): void {
    const endpoint = pubEndpointFor(this.endpoint, announced);
    this.announced = announced;
    if (this.sub?.endpoint === endpoint) return;
    this.sub?.close();
    this.pubPaused = false;
    this.sub = SubSocket.connect(endpoint, {
      heartbeatMs: this.o.heartbeatMs,
      receiveHighWaterMark: 1_000,
      ...(this.curve ? { curve: this.curve } : {}),
      events: this.events("pub"),
    });
    this.o.log.debug({ endpoint }, "following PUB");
  }

  /**
   * Stop (true) or start again (false) taking PUB's records while following
   * it: a subscriber too far behind to hold them would only drop them.
   */
  pausePub(paused: boolean): void {
    if (this.sub === null || paused === this.pubPaused) return;
    this.pubPaused = paused;
    this.sub.receiveAll(!paused);
  }

  /** Stop following PUB (the publisher serves us over ROUTER only). */
  unfollowPub(): void {
    this.sub?.close();
    this.sub = null;
    this.announced = null;
  }

  private handshakeFailed(kind: "auth" | "protocol", detail: string): void {
    if (this.closed) return;
    if (kind === "protocol") {
      if (this.warnedProtocol) return;
      this.warnedProtocol = true;
      const hint = this.curve ? "is it running with --insecure? Both sides must use keys" : "it requires CURVE: give --key and --server-key";
      this.o.log.error({ detail }, `the publisher speaks another security mechanism (${hint})`);
      return;
    }
    this.o.log.error(
      { key: this.o.keyName, detail, retryInMs: this.relinkDelay },
      "the publisher refused our key: is it in the publisher's peers file?",
    );
    if (this.relinkTimer !== null) return;
    this.relinkTimer = setTimeout(() => this.rebuild(), this.relinkDelay);
    this.relinkDelay = Math.min(this.relinkDelay * 2, RELINK_MAX_MS);
  }

  /** New sockets, so libzmq tries the handshake again. */
  private rebuild(): void {
    this.relinkTimer = null;
    if (this.closed) return;
    this.dealer.close();
    this.sub?.close();
    this.sub = null;
    this.dealer = this.connectDealer();
    this.o.handlers.onConnection(false);
    if (this.announced !== null) this.followPub(this.announced);
  }

  private receive(parts: Buffer[], source: Source): void {
    let frame: Frame;
    try {
      frame = decode(parts);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.o.counters.badFrames++;
      const suppressed = this.limiter.allow(`${source}:${err.code}`);
      if (suppressed !== null) this.o.log.warn({ source, code: err.code, reason: err.message, suppressed }, "ignored a malformed frame");
      return;
    }
    if (source === "pub" && frame.type !== "data" && frame.type !== "batch") return;
    this.o.handlers.onFrame(frame, source);
  }

  close(): void {
    this.closed = true;
    if (this.relinkTimer) clearTimeout(this.relinkTimer);
    this.sub?.close();
    this.sub = null;
    this.dealer.close();
  }
}
