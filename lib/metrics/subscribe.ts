// subscribe's metrics and health, read from the subscriber's counters, its
// session and its sinks' stats; store latency is observed as stores return
// (the hook the subscriber takes as onStoreTime).

import { Histogram, type Registry } from "prom-client";
import type { Subscriber } from "../subscriber/subscriber.js";
import type { SinkStats } from "../subscriber/counters.js";
import { counter, gauge, one, type Sample } from "./collect.js";
import type { Health } from "./http.js";

/** The position not moving this long while the publisher's head is ahead makes the peer unhealthy. */
export const STALL_MS = 60_000;
/** Store latency buckets (seconds): a maildir write is ~1 ms, a public-inbox-mda run ~0.5 s. */
const STORE_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface SubscribeHealthOptions {
  heartbeatMs: number;
  /** --retry-max: a sink failing longer than this is unhealthy. */
  retryMaxMs: number;
}

/** The onStoreTime hook to give the Subscriber (its sinks' latency histogram). */
export function storeTimer(registry: Registry): (sink: string, seconds: number) => void {
  const histogram = new Histogram({
    name: "mq_archive_sink_store_duration_seconds",
    help: "Duration of one store of a batch of records in a sink.",
    labelNames: ["sink"],
    buckets: STORE_BUCKETS,
    registers: [registry],
  });
  return (sink, seconds) => histogram.observe({ sink }, seconds);
}

export function subscribeMetrics(registry: Registry, subscriber: Subscriber, options: SubscribeHealthOptions): () => Health {
  const c = subscriber.counters;
  const sinks = (value: (s: SinkStats) => number): (() => Sample) => () => [...subscriber.sinkStats].map(([sink, s]) => [{ sink }, value(s)]);
  gauge(registry, "mq_archive_subscriber_position_seq", "Everything at or below this seq is stored and committed.", [], () => one(subscriber.position));
  gauge(registry, "mq_archive_subscriber_publisher_head_seq", "The publisher's head as last heard.", [], () => one(subscriber.publisherHead));
  gauge(registry, "mq_archive_subscriber_lag_records", "The publisher's head minus the position (an upper bound when taking some lists).", [], () =>
    one(Math.max(0, subscriber.publisherHead - subscriber.position)),
  );
  gauge(registry, "mq_archive_subscriber_connected", "1 while a session with the publisher is open.", [], () => one(subscriber.connected ? 1 : 0));
  gauge(registry, "mq_archive_subscriber_dead_letters", "Dead letters held in the state file.", [], () => one(subscriber.deadLetterCount));
  counter(registry, "mq_archive_subscriber_sessions_total", "Sessions started with the publisher (hellos sent).", [], () => one(c.hellos));
  counter(registry, "mq_archive_subscriber_records_received_total", "Data frames received, live over PUB or over ROUTER.", ["via"], () => [
    [{ via: "pub" }, c.fromPub],
    [{ via: "router" }, c.fromRouter],
  ]);
  counter(registry, "mq_archive_subscriber_duplicates_total", "Duplicate frames discarded.", [], () => one(c.duplicates));
  counter(registry, "mq_archive_subscriber_pub_pauses_total", "Times PUB was paused (too far behind to hold what it sent).", [], () => one(c.pubPauses));
  counter(registry, "mq_archive_sink_records_stored_total", "Records a sink stored.", ["sink", "kind"], () =>
    [...subscriber.sinkStats].flatMap(([sink, s]): Sample => [
      [{ sink, kind: "message" }, s.stored.message],
      [{ sink, kind: "event" }, s.stored.event],
    ]),
  );
  counter(registry, "mq_archive_sink_retries_total", "Failed sink attempts that were retried.", ["sink"], sinks((s) => s.retries));
  counter(registry, "mq_archive_sink_dead_letters_total", "Records a sink set aside as dead letters.", ["sink"], sinks((s) => s.deadLetters));
  gauge(registry, "mq_archive_sink_failing_seconds", "How long a sink has been paused on a temporary failure (0: it is not).", ["sink"],
    sinks((s) => (s.failingSince === null ? 0 : (Date.now() - s.failingSince) / 1000)));
  return healthOf(subscriber, options);
}

/** The health rules, remembering since when the session is down and the position still. */
function healthOf(subscriber: Subscriber, o: SubscribeHealthOptions): () => Health {
  let downSince: number | null = null;
  let still = { position: -1, since: 0 };
  const watch = (): void => {
    const now = Date.now();
    downSince = subscriber.connected ? null : (downSince ?? now);
    if (subscriber.position !== still.position || subscriber.publisherHead <= subscriber.position) still = { position: subscriber.position, since: now };
  };
  const timer = setInterval(watch, Math.min(1000, o.heartbeatMs));
  timer.unref();
  watch();
  void subscriber.closed().finally(() => clearInterval(timer));
  return () => {
    watch();
    const now = Date.now();
    const position = subscriber.position;
    if (downSince !== null && now - downSince > 3 * o.heartbeatMs) {
      return { ok: false, reason: `no session with the publisher for ${Math.round((now - downSince) / 1000)} s`, position };
    }
    for (const [sink, s] of subscriber.sinkStats) {
      if (s.failingSince !== null && now - s.failingSince > o.retryMaxMs) {
        return { ok: false, reason: `sink ${sink} has been paused on a temporary failure for ${Math.round((now - s.failingSince) / 1000)} s`, position };
      }
    }
    if (now - still.since > STALL_MS) {
      return { ok: false, reason: `the position (${position}) has not moved for ${Math.round((now - still.since) / 1000)} s while the publisher's head is ${subscriber.publisherHead}`, position };
    }
    return { ok: true, position, head: subscriber.publisherHead };
  };
}
