// `mq-archive subscribe`: the archive peer daemon.

import { SUBSCRIBE_OPTIONS } from "../../lib/config/commands.js";
import type { Resolved } from "../../lib/config/spec.js";
import { createLogger } from "../../lib/log.js";
import { validateEndpoint } from "../../lib/transport/endpoints.js";
import { subscribeSecurity } from "../../lib/config/security.js";
import { parseSink } from "../../lib/sinks/parse.js";
import { sinkOptions } from "../../lib/config/sinks.js";
import { Subscriber } from "../../lib/subscriber/subscriber.js";
import { canonicalStart } from "../../lib/subscriber/start-choice.js";
import { runUntilStopped } from "../daemon.js";
import { daemonRegistry, startMetricsEndpoint } from "../../lib/metrics/endpoint.js";
import { storeTimer, subscribeMetrics } from "../../lib/metrics/subscribe.js";
import { parseMetricsListen } from "../../lib/metrics/listen.js";

export async function runSubscribe(opts: Resolved<typeof SUBSCRIBE_OPTIONS>): Promise<number> {
  const start = opts.start === undefined ? undefined : canonicalStart(opts.start);
  const connect = opts.connect.map((endpoint) => validateEndpoint(endpoint, "--connect"));
  const security = subscribeSecurity({ key: opts.key, serverKey: opts["server-key"], insecure: opts.insecure });
  const sinks = opts.sink.map((spec) => parseSink(spec, sinkOptions(opts)));
  const listen = opts.metrics === undefined ? null : parseMetricsListen(opts.metrics, opts["metrics-remote"]);
  const log = createLogger(opts["log-level"]);
  const registry = daemonRegistry();
  const subscriber = new Subscriber({
    connect,
    failover: { failoverMs: opts["failover-after"], returnMs: opts["return-after"] },
    state: opts.state,
    sinks,
    lists: opts.lists ?? null,
    ...(opts.name === undefined ? {} : { name: opts.name }),
    creditBytes: opts.credit,
    maxAttempts: opts["exec-retries"],
    retryMaxMs: opts["retry-max"],
    ...(start === undefined ? {} : { start }),
    ...(opts["accept-outbox"] === undefined ? {} : { acceptOutbox: opts["accept-outbox"] }),
    ...(security.secure ? { security: { keys: security.keys, serverKey: security.serverKey } } : {}),
    ...(listen === null ? {} : { onStoreTime: storeTimer(registry) }),
    log,
  });
  await subscriber.start();
  if (!security.secure) log.warn("connected without encryption or authentication (--insecure)");
  const register = () => subscribeMetrics(registry, subscriber, { heartbeatMs: 1000, retryMaxMs: opts["retry-max"] });
  const metrics = await startMetricsEndpoint(listen, registry, register, log).catch(async (err: unknown) => {
    await subscriber.close();
    throw err;
  });
  const status = await runUntilStopped(subscriber, log);
  await metrics?.close();
  return status;
}
