// A custom archiver built on the library: follow a publisher and store each
// message as DIR/<list>/<seq>.eml. Run it against `mq-archive serve --insecure` (with keys, pass `security:` as the README shows):
//
//   node dist/examples/custom-archiver.js tcp://127.0.0.1:5580 ./custom.db ./custom-archive [127.0.0.1:9581]
//
// Each record is acknowledged only after it is written; a record that comes
// again (after a crash before the ack) lands on the same file name. With a
// fourth argument it serves the subscriber's metrics, and one of its own
// (bytes written), on http://HOST:PORT/metrics, and /healthz.

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Counter } from "prom-client";
import { createLogger, daemonRegistry, MetricsServer, parseMetricsListen, Subscriber, subscribeMetrics } from "../lib/index.js";

const [connect = "tcp://127.0.0.1:5580", state = "custom-archiver.db", out = "custom-archive", metricsAt] = process.argv.slice(2);

const log = createLogger("info");
const subscriber = new Subscriber({ connect, state, name: "custom-archiver", log });
await subscriber.start();
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => void subscriber.close());

// The subscriber's metrics (position, lag, frames, ...), the process's, and ours, on one endpoint.
const registry = daemonRegistry();
const written = new Counter({ name: "custom_archiver_bytes_written_total", help: "Message bytes this archiver wrote.", registers: [registry] });
const health = subscribeMetrics(registry, subscriber, { heartbeatMs: 1000, retryMaxMs: 30_000 });
const metrics = metricsAt === undefined ? null : await MetricsServer.start(parseMetricsListen(metricsAt, false), registry, health, log);

for await (const delivery of subscriber) {
  const dir = join(out, delivery.list);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${delivery.seq}.eml`), delivery.body);
  written.inc(delivery.body.length);
  await delivery.ack();
}
await metrics?.close();
