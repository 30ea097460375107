// The metrics endpoint: GET /metrics (Prometheus text format), GET /healthz
// (200 when the daemon does its job, 503 with the reason when not), 404 for
// anything else. It only reads what the daemon already keeps: a scrape never
// waits for the daemon's work, nor the daemon for a scrape.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import type { MetricsListen } from "./listen.js";

export interface Health {
  ok: boolean;
  /** Why not, when not ok. */
  reason?: string;
  [detail: string]: unknown;
}

/** Connections at once: a scraper or two and a person with curl; more wait in the kernel's backlog. */
const MAX_CONNECTIONS = 16;
/** A client that sends its request slower than this is dropped. */
const REQUEST_TIMEOUT_MS = 10_000;

export class MetricsServer {
  private constructor(private readonly server: Server) {}

  static start(listen: MetricsListen, registry: Registry, health: () => Health, log: Logger): Promise<MetricsServer> {
    const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS, maxHeaderSize: 8192 }, (req, res) => {
      void answer(req, res, registry, health).catch((err: unknown) => {
        log.warn({ err }, "metrics: cannot answer a request");
        if (!res.headersSent) reply(res, 500, "text/plain", `${errorMessage(err)}\n`);
        else res.destroy();
      });
    });
    server.maxConnections = MAX_CONNECTIONS;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(listen.port, listen.host, () => {
        server.off("error", reject);
        server.on("error", (err) => log.warn({ err }, "metrics endpoint error"));
        const s = new MetricsServer(server);
        log.info({ metrics: s.url }, "metrics endpoint listening");
        resolve(s);
      });
    });
  }

  /** http://HOST:PORT of the bound address. */
  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function answer(req: IncomingMessage, res: ServerResponse, registry: Registry, health: () => Health): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  if (path !== "/metrics" && path !== "/healthz") return reply(res, 404, "text/plain", "not found: try /metrics or /healthz\n");
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return reply(res, 405, "text/plain", "only GET\n");
  }
  if (path === "/metrics") return reply(res, 200, registry.contentType, await registry.metrics());
  const h = health();
  reply(res, h.ok ? 200 : 503, "application/json", `${JSON.stringify(h)}\n`);
}

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
