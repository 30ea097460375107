// A TCP proxy between the subscribers and the publisher that the chaos run
// controls: it can cut every connection, or refuse new ones for a while.

import { connect, createServer, type Server, type Socket } from "node:net";
import { SYNC_CHILD } from "../helpers/sync-limit.js";

export class TcpProxy {
  private server: Server | null = null;
  private opening: Promise<void> | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly listenPort: number,
    private readonly targetPort: number,
  ) {}

  /** Listen (again); concurrent calls share one attempt. */
  open(): Promise<void> {
    if (this.server !== null) return Promise.resolve();
    this.opening ??= this.listenRetrying().finally(() => (this.opening = null));
    return this.opening;
  }

  /** Retried while the port is still held (a socket of the last listener closing). */
  private async listenRetrying(attempts = 50): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        return await this.listen();
      } catch (err) {
        if (i >= attempts) {
          const { execSync } = await import("node:child_process");
          const holders = execSync(`ss -tanp | grep ':${this.listenPort} ' || true`, { encoding: "utf8", ...SYNC_CHILD });
          throw new Error(`${(err as Error).message}; held by: ${holders.replace(/\s+/g, " ")}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  private async listen(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.listenPort, "127.0.0.1", () => resolve());
    });
    this.server = server;
  }

  /** Drop every open connection (both sides see a reset). */
  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Stop listening: connections are refused until reopened. */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.cut();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get refusing(): boolean {
    return this.server === null;
  }

  async close(): Promise<void> {
    await this.refuse();
  }
}
