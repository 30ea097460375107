// The only module that imports "zeromq". It owns socket options, one send
// queue (send-queue.ts) and one reader loop per socket (zeromq.js allows one
// pending send and one pending receive), and turns socket events into plain
// callbacks. The ZAP endpoint (zap-server.ts) gets its socket from here.

import * as zmq from "zeromq";
import { SendQueue, type SendFailure } from "./send-queue.js";

export type { SendFailure };

/** The socket the process's ZAP endpoint answers on (see zap-server.ts). */
export async function bindZapSocket(endpoint: string): Promise<zmq.Router> {
  const socket = new zmq.Router({ linger: 0 });
  await socket.bind(endpoint);
  return socket;
}

/** CURVE settings for one socket; absent means plaintext. */
export interface CurveServer {
  secretKey: string;
  publicKey: string;
  /** ZAP domain (from registerZap), so the authenticator can tell sockets apart. */
  domain: string;
}

export interface CurveClient {
  secretKey: string;
  publicKey: string;
  serverKey: string;
}

export interface LinkOptions {
  heartbeatMs: number;
}

const LINGER_MS = 0;
/**
 * The largest frame a PUB socket takes from a subscriber: subscriptions (one
 * byte and the prefix; ours is empty) and, first, CURVE's handshake
 * commands (a few hundred bytes: with 64 no handshake completed).
 */
const PUB_MAX_INBOUND = 4096;

/**
 * libzmq takes an IPv6 address ("tcp://[::1]:5580") only on a socket with
 * its ipv6 option. Set just for those: with it, a socket bound to
 * 127.0.0.1 reports "[::ffff:127.0.0.1]" and a host name may resolve to ::1.
 */
function ipv6For(endpoint: string): { ipv6?: true } {
  return endpoint.startsWith("tcp://[") ? { ipv6: true } : {};
}

function heartbeatOptions(o: LinkOptions) {
  return {
    heartbeatInterval: o.heartbeatMs,
    heartbeatTimeout: o.heartbeatMs * 3,
    heartbeatTimeToLive: o.heartbeatMs * 3,
  };
}

function curveServerOptions(curve: CurveServer | undefined) {
  if (curve === undefined) return {};
  return {
    curveServer: true,
    curveSecretKey: curve.secretKey,
    curvePublicKey: curve.publicKey,
    zapDomain: curve.domain,
    zapEnforceDomain: true,
  };
}

function curveClientOptions(curve: CurveClient | undefined) {
  if (curve === undefined) return {};
  return { curveSecretKey: curve.secretKey, curvePublicKey: curve.publicKey, curveServerKey: curve.serverKey };
}

async function readLoop<T>(
  socket: zmq.Socket & zmq.Readable,
  onMessage: (parts: Buffer[]) => T,
  onError: (err: Error) => void,
): Promise<void> {
  try {
    for await (const parts of socket) onMessage(parts as Buffer[]);
  } catch (err) {
    if (!socket.closed) onError(err as Error);
  }
}

export interface RouterHandlers {
  onMessage(routingId: Buffer, parts: Buffer[]): void;
  onError(err: Error): void;
}

/** The publisher's per-peer control socket. */
export class RouterSocket {
  private readonly socket: zmq.Router;
  private readonly sends: SendQueue;

  private constructor(socket: zmq.Router) {
    this.socket = socket;
    this.sends = new SendQueue(socket);
  }

  static async bind(
    endpoint: string,
    options: LinkOptions & { curve?: CurveServer; maxMessageSize: number; sendHighWaterMark: number },
  ): Promise<RouterSocket> {
    const socket = new zmq.Router({
      ...ipv6For(endpoint),
      linger: LINGER_MS,
      mandatory: true,
      sendTimeout: 0,
      sendHighWaterMark: options.sendHighWaterMark,
      // Peers send small control frames; a connection's queue waiting for our reader stays small too.
      receiveHighWaterMark: 256,
      maxMessageSize: options.maxMessageSize,
      ...heartbeatOptions(options),
      ...curveServerOptions(options.curve),
    });
    try {
      await socket.bind(endpoint);
    } catch (err) {
      socket.close();
      throw err;
    }
    return new RouterSocket(socket);
  }

  get endpoint(): string {
    return this.socket.lastEndpoint ?? "";
  }

  listen(handlers: RouterHandlers): void {
    void readLoop(
      this.socket,
      (parts) => {
        const [routingId, ...rest] = parts;
        if (routingId !== undefined) handlers.onMessage(routingId, rest);
      },
      handlers.onError,
    );
  }

  /** Queue a message to one peer; `onFailure` hears of an unreachable or full peer. */
  send(routingId: Buffer, parts: Buffer[], onFailure?: SendFailure): void {
    this.sends.push([routingId, ...parts], onFailure);
  }

  /** Drop what is queued here for a peer (its session ended); libzmq's own queue for it is bounded by the high-water mark. */
  discard(routingId: Buffer): void {
    this.sends.discard(routingId);
  }

  /** Bytes waiting for the socket. */
  get queuedBytes(): number {
    return this.sends.bytes;
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }
}

/** The publisher's live fan-out socket. Drops at the high-water mark, per subscriber. */
export class PubSocket {
  private readonly sends: SendQueue;

  private constructor(private readonly socket: zmq.Publisher) {
    this.sends = new SendQueue(socket);
  }

  static async bind(endpoint: string, options: { curve?: CurveServer; sendHighWaterMark: number }): Promise<PubSocket> {
    const socket = new zmq.Publisher({
      ...ipv6For(endpoint),
      linger: LINGER_MS,
      sendHighWaterMark: options.sendHighWaterMark,
      // Subscribers send only subscriptions, and ours only the empty one: nothing larger is read.
      maxMessageSize: PUB_MAX_INBOUND,
      ...curveServerOptions(options.curve),
    });
    try {
      await socket.bind(endpoint);
    } catch (err) {
      socket.close();
      throw err;
    }
    return new PubSocket(socket);
  }

  get endpoint(): string {
    return this.socket.lastEndpoint ?? "";
  }

  publish(parts: Buffer[]): void {
    this.sends.push(parts);
  }

  get queued(): number {
    return this.sends.length;
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }
}

export interface ClientEvents {
  onMessage(parts: Buffer[]): void;
  onError(err: Error): void;
  /** The connection (re)established or was lost. */
  onConnection?(up: boolean): void;
  /**
   * The server refused our key ("auth": libzmq will not retry) or speaks
   * another security mechanism ("protocol").
   */
  onHandshakeFailure?(kind: "auth" | "protocol", detail: string): void;
}

function watchEvents(socket: zmq.Socket, events: ClientEvents): void {
  socket.events.on("handshake", () => events.onConnection?.(true));
  socket.events.on("disconnect", () => events.onConnection?.(false));
  socket.events.on("handshake:error:auth", (e) => events.onHandshakeFailure?.("auth", e.error.message));
  socket.events.on("handshake:error:protocol", (e) => events.onHandshakeFailure?.("protocol", e.error.message));
}

/** The subscriber's control and repair socket. */
export class DealerSocket {
  private readonly sends: SendQueue;

  private constructor(private readonly socket: zmq.Dealer) {
    this.sends = new SendQueue(socket);
  }

  static connect(
    endpoint: string,
    options: LinkOptions & { curve?: CurveClient; events: ClientEvents; receiveHighWaterMark: number },
  ): DealerSocket {
    const socket = new zmq.Dealer({
      ...ipv6For(endpoint),
      linger: LINGER_MS,
      sendTimeout: 0,
      immediate: true,
      receiveHighWaterMark: options.receiveHighWaterMark,
      sendHighWaterMark: 10_000,
      reconnectInterval: 100,
      reconnectMaxInterval: 5_000,
      ...heartbeatOptions(options),
      ...curveClientOptions(options.curve),
    });
    watchEvents(socket, options.events);
    socket.connect(endpoint);
    void readLoop(socket, options.events.onMessage, options.events.onError);
    return new DealerSocket(socket);
  }

  /** Send now or drop: control frames are repeated by timers, never queued behind a dead link. */
  send(parts: Buffer[], onFailure?: SendFailure): void {
    this.sends.push(parts, onFailure);
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }
}

/** The subscriber's live feed. */
export class SubSocket {
  private constructor(
    private readonly socket: zmq.Subscriber,
    readonly endpoint: string,
  ) {}

  static connect(
    endpoint: string,
    options: LinkOptions & { curve?: CurveClient; events: ClientEvents; receiveHighWaterMark: number },
  ): SubSocket {
    const socket = new zmq.Subscriber({
      ...ipv6For(endpoint),
      linger: LINGER_MS,
      receiveHighWaterMark: options.receiveHighWaterMark,
      reconnectInterval: 100,
      reconnectMaxInterval: 5_000,
      ...heartbeatOptions(options),
      ...curveClientOptions(options.curve),
    });
    watchEvents(socket, options.events);
    socket.subscribe();
    socket.connect(endpoint);
    void readLoop(socket, options.events.onMessage, options.events.onError);
    return new SubSocket(socket, endpoint);
  }

  /** Take (true) or stop taking (false) everything the publisher sends; PUB filters, so nothing travels while off. */
  receiveAll(on: boolean): void {
    if (this.socket.closed) return;
    if (on) this.socket.subscribe();
    else this.socket.unsubscribe();
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }
}
