// The process's ZAP endpoint (ZeroMQ RFC 27): one per process, shared by
// every CURVE server socket, each registering a handler under its own
// domain. The handler decides; this only speaks the ZAP framing.

import { bindZapSocket } from "./zmq.js";

type ZapSocket = Awaited<ReturnType<typeof bindZapSocket>>;

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

  private constructor(private readonly socket: ZapSocket) {}

  static async get(): Promise<ZapServer> {
    if (ZapServer.instance === null) {
      const socket = await bindZapSocket("inproc://zeromq.zap.01");
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

