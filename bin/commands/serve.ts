// `mq-archive serve`: the publisher daemon beside Mailman.

import { SERVE_OPTIONS } from "../../lib/config/commands.js";
import type { Resolved } from "../../lib/config/spec.js";
import { MqArchiveError, OutboxError, UsageError } from "../../lib/errors.js";
import { createLogger } from "../../lib/log.js";
import { derivePubEndpoint, validateEndpoint } from "../../lib/transport/endpoints.js";
import { PeersReloader } from "../../lib/publisher/peers-reloader.js";
import { DAEMON_OUTBOX, Publisher } from "../../lib/publisher/publisher.js";
import { serveSecurity } from "../../lib/config/security.js";
import { Outbox } from "../../lib/store/outbox.js";
import { runUntilStopped } from "../daemon.js";
import { daemonRegistry, startMetricsEndpoint } from "../../lib/metrics/endpoint.js";
import { serveMetrics } from "../../lib/metrics/serve.js";
import { parseMetricsListen } from "../../lib/metrics/listen.js";

export async function runServe(opts: Resolved<typeof SERVE_OPTIONS>): Promise<number> {
  const bind = validateEndpoint(opts.bind, "--bind");
  const pubBind = validateEndpoint(opts["pub-bind"] ?? derivePubEndpoint(bind), "--pub-bind");
  const security = serveSecurity({
    key: opts.key,
    peers: opts.peers,
    insecure: opts.insecure,
    insecureRemote: opts["insecure-remote"],
    endpoints: [bind, pubBind],
  });
  const listen = opts.metrics === undefined ? null : parseMetricsListen(opts.metrics, opts["metrics-remote"]);
  const log = createLogger(opts["log-level"]);
  // Waits for another process's lock at start-up only. Its checkpoint thread runs until close() settles.
  const outbox = Outbox.open(opts.db, { ...DAEMON_OUTBOX, busyTimeoutMs: 30_000 });
  outbox.setBusyTimeout(DAEMON_OUTBOX.busyTimeoutMs);
  const problem = outbox.check();
  if (problem !== null) {
    await outbox.close();
    throw new OutboxError("OUTBOX_CORRUPT", `outbox ${opts.db} failed its integrity check: ${problem}; restore it from a backup`);
  }
  const publisher = new Publisher({
    outbox,
    bind,
    pubBind,
    ...(opts["announce-pub"] === undefined ? {} : { announcePub: validateEndpoint(opts["announce-pub"], "--announce-pub") }),
    heartbeatMs: opts.heartbeat,
    retainMs: opts.retain,
    ...(security.secure ? { security: { keys: security.keys, peers: security.peers } } : {}),
    ...(opts.spool === undefined ? {} : { spool: { dir: opts.spool, maxSize: opts["max-size"] } }),
    log,
  });
  try {
    await publisher.start();
  } catch (err) {
    await outbox.close();
    if (err instanceof MqArchiveError) throw err;
    throw new UsageError(`cannot listen on ${bind} / ${pubBind}: ${(err as Error).message}`, { cause: err });
  }
  const registry = daemonRegistry();
  const metrics = await startMetricsEndpoint(listen, registry, () => serveMetrics(registry, publisher, opts.spool ?? null), log).catch(async (err: unknown) => {
    await publisher.close();
    await outbox.close();
    throw err;
  });
  let reloader: PeersReloader | null = null;
  if (security.secure) {
    reloader = new PeersReloader(security.peersFile, publisher, log.child({ component: "peers" }));
    reloader.start(security.peers);
    process.on("SIGHUP", () => void reloader?.reload());
    log.info({ publicKey: security.keys.publicKey, peers: security.peers.entries().length }, "CURVE on; peers allowlist loaded");
  } else {
    log.warn("running without encryption or authentication (--insecure): every peer is trusted");
  }
  const status = await runUntilStopped(publisher, log);
  reloader?.close();
  await metrics?.close();
  await outbox.close(); // the checkpoint thread is done with the files before the process exits
  return status;
}
