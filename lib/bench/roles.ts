// The child processes of `mq-archive bench`: a publisher that commits
// messages durably (group commit, or one fsync'd commit each at a fixed
// rate) and subscribers built on the library that time each hand-off.
// They talk to the orchestrator over the IPC channel of child_process.fork.

import { join } from "node:path";
import { IMPORT_BATCH } from "../ingest/bulk-import.js";
import { Outbox } from "../store/outbox.js";
import { readKeyFile } from "../security/keys.js";
import { HandlerSink } from "../sinks/handler.js";
import { daemonRegistry } from "../metrics/endpoint.js";
import { MetricsServer } from "../metrics/http.js";
import { storeTimer, subscribeMetrics } from "../metrics/subscribe.js";
import { parseSink, type SinkOptions } from "../sinks/parse.js";
import type { Sink } from "../sinks/sink.js";
import { Subscriber } from "../subscriber/subscriber.js";
import { createLogger, silentLogger } from "../log.js";
import { BenchMessages } from "./messages.js";
import { startDebugProbes } from "./debug-probes.js";
import { preciseNow } from "./stats.js";

export interface PublisherJob {
  db: string;
  messages: number;
  size: number;
  /** Messages per second, one commit each; null: as fast as group commit allows. */
  rate: number | null;
  list: string;
}

export interface SubscriberJob {
  index: number;
  connect: string;
  dir: string;
  sink: string;
  sinkOptions: SinkOptions;
  /** Its metrics endpoint on (127.0.0.1, a free port), told in "ready". */
  metrics: boolean;
  expect: number;
  security: { keyFile: string; serverKey: string } | null;
}

export type RoleMessage =
  | { type: "ready"; metrics?: string }
  | { type: "progress"; count: number }
  | { type: "published"; start: number; end: number; commits: Array<[number, number]> }
  | { type: "delivered"; start: number; end: number; handoffs: Array<[number, number]> };

function tell(message: RoleMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

/** After reporting, a role stays until the orchestrator has read it (and its memory) and ends it. */
function untilDismissed(): Promise<void> {
  return new Promise((resolve) => process.once("disconnect", resolve));
}

export async function runPublisherRole(job: PublisherJob): Promise<void> {
  const outbox = Outbox.open(job.db);
  const messages = new BenchMessages(job.size);
  await tell({ type: "ready" }); // its CPU time counts from here
  const commits: Array<[number, number]> = [];
  const start = preciseNow();
  if (job.rate === null) {
    // In the batches bulk import (`publish --mbox`) commits.
    for (let i = 0; i < job.messages; i += IMPORT_BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(job.messages, i + IMPORT_BATCH); j++) {
        batch.push({ list: job.list, messageId: messages.messageId(j), body: messages.body(j) });
      }
      outbox.records.appendMany(batch);
      if ((i / IMPORT_BATCH) % 10 === 0) void tell({ type: "progress", count: i + batch.length });
    }
  } else {
    const interval = 1000 / job.rate;
    for (let i = 0; i < job.messages; i++) {
      const due = start + i * interval;
      // Sleep, never spin: a spinning publisher would take a core from serve and the subscriber
      // on a small machine and show up in their latency. Commits are timed when they happen.
      const wait = due - preciseNow();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const { seq } = outbox.records.append({ list: job.list, messageId: messages.messageId(i), body: messages.body(i) });
      commits.push([seq, preciseNow()]);
      if (i % 1000 === 0) void tell({ type: "progress", count: i });
    }
  }
  const end = preciseNow();
  await outbox.close();
  await tell({ type: "published", start, end, commits });
  await untilDismissed();
}

/** A full spec as given; maildir or mbox in a directory of this subscriber's own. */
function benchSinkSpec(job: SubscriberJob): string {
  return job.sink.includes(":") ? job.sink : `${job.sink}:${join(job.dir, `sub${job.index}-${job.sink}`)}`;
}

export async function runSubscriberRole(job: SubscriberJob): Promise<void> {
  const handoffs: Array<[number, number]> = [];
  let first = 0;
  let count = 0;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const timing = new HandlerSink((record) => {
    const now = preciseNow();
    if (count === 0) first = now;
    handoffs.push([record.seq, now]);
    if (++count === job.expect) finished();
  }, "timing");
  const sinks: Sink[] = [timing];
  if (job.sink !== "null") sinks.unshift(parseSink(benchSinkSpec(job), job.sinkOptions));
  const security = job.security ? { keys: readKeyFile(job.security.keyFile), serverKey: job.security.serverKey } : null;
  const registry = job.metrics ? daemonRegistry() : null;
  const subscriber = new Subscriber({
    connect: job.connect,
    state: join(job.dir, `sub${job.index}.db`),
    sinks,
    name: `bench-${job.index}`,
    ...(registry ? { onStoreTime: storeTimer(registry) } : {}),
    ...(process.env.MQA_BENCH_DEBUG ? { log: createLogger("debug") } : {}),
    ...(security ? { security } : {}),
  });
  const probes = startDebugProbes();
  await subscriber.start();
  const metrics = registry
    ? await MetricsServer.start({ host: "127.0.0.1", port: 0 }, registry, subscribeMetrics(registry, subscriber, { heartbeatMs: 1000, retryMaxMs: 30_000 }), silentLogger())
    : null;
  while (!subscriber.connected) await new Promise((resolve) => setTimeout(resolve, 5));
  await tell({ type: "ready", ...(metrics ? { metrics: metrics.url } : {}) });
  const progress = setInterval(() => void tell({ type: "progress", count }), 500);
  await done;
  // Delivered means committed (and acknowledged), not just handed to the sinks.
  while (subscriber.position < job.expect) await new Promise((resolve) => setTimeout(resolve, 1));
  const end = preciseNow();
  clearInterval(progress);
  probes?.report(subscriber.counters);
  await subscriber.close();
  await metrics?.close();
  await tell({ type: "delivered", start: first, end, handoffs });
  await untilDismissed();
}
