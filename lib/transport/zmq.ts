// The only module that imports "zeromq". It owns socket options, one send
// queue and one reader loop per socket (zeromq.js allows one pending send and
// one pending receive), and turns socket events into plain callbacks.

import * as zmq from "zeromq";

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

export interface ZapRequestParts {
  domain: string;
  address: string;
  mechanism: string;
  credentials: Buffer[];
}

/** Answers a ZAP request for one domain: null to accept, or the refusal text. */
export type ZapHandler = (request: ZapRequestParts) => string | null;

/**
 * The process's ZAP endpoint (inproc://zeromq.zap.01 in the shared context),
 * bound once, before any CURVE server socket, and shared by every publisher
 * in the process: each registers its own domains.
 */
class ZapServer {
  private static instance: ZapServer | null = null;
  private static domainSeq = 0;
  private readonly handlers = new Map<string, ZapHandler>();

  private constructor(private readonly socket: zmq.Router) {}

  static async get(): Promise<ZapServer> {
    if (ZapServer.instance === null) {
      const socket = new zmq.Router({ linger: 0 });
      await socket.bind("inproc://zeromq.zap.01");
      const server = new ZapServer(socket);
      ZapServer.instance = server;
      void server.run();
    }
    return ZapServer.instance;
  }

  /**
   * Register a handler under a fresh domain name; returns the domain and a
   * way to remove it. The endpoint closes with its last handler, so it never
   * keeps a stopped daemon's process alive.
   */
  register(prefix: string, handler: ZapHandler): { domain: string; remove: () => void } {
    const domain = `${prefix}.${++ZapServer.domainSeq}`;
    this.handlers.set(domain, handler);
    const remove = (): void => {
      this.handlers.delete(domain);
      if (this.handlers.size === 0 && ZapServer.instance === this) {
        ZapServer.instance = null;
        this.socket.close();
      }
    };
    return { domain, remove };
  }

  private async run(): Promise<void> {
    try {
      await this.serve();
    } catch (err) {
      if (!this.socket.closed) throw err;
    }
  }

  private async serve(): Promise<void> {
    for await (const request of this.socket) {
      if (this.socket.closed) return;
      const [path, delimiter, version, id, domain, address, , mechanism, ...credentials] = request as Buffer[];
      const handler = this.handlers.get(domain?.toString() ?? "");
      let refusal: string | null = "unknown ZAP domain";
      try {
        if (handler) {
          refusal = handler({
            domain: domain!.toString(),
            address: address?.toString() ?? "",
            mechanism: mechanism?.toString() ?? "",
            credentials,
          });
        }
      } catch (err) {
        refusal = `authenticator failed: ${(err as Error).message}`;
      }
      const status = refusal === null ? ["200", "OK"] : ["400", refusal.slice(0, 255)];
      if (!this.socket.closed) await this.socket.send([path!, delimiter!, version!, id!, ...status, "", ""]);
    }
  }
}

/** Register a ZAP handler for a publisher's socket; the ZAP endpoint is bound on first use. */
export async function registerZap(prefix: string, handler: ZapHandler): Promise<{ domain: string; remove: () => void }> {
  return (await ZapServer.get()).register(prefix, handler);
}

const LINGER_MS = 0;

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

export type SendFailure = (err: Error & { code?: string }) => void;

/**
 * Serializes sends on one socket. Never blocks the caller: a send the socket
 * cannot take right now (sendTimeout 0) fails through `onFailure`. Bounded
 * in bytes, so a flood never grows memory without bound.
 */
class SendQueue {
  private readonly queue: Array<{ parts: Buffer[]; bytes: number; onFailure: SendFailure | undefined }> = [];
  private draining = false;
  private bytesQueued = 0;

  /** Beyond `maxBytes` waiting, a send fails at once. */
  constructor(
    private readonly socket: zmq.Socket & zmq.Writable,
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
