// The metric names the README's Monitoring section documents, and a way to
// find the metric names a PromQL expression reads, so the example alerts and
// dashboard (examples/prometheus) can be checked against them: a metric
// renamed in one place and not the other fails a test.

import { collectDefaultMetrics, Registry } from "prom-client";

export type MetricType = "counter" | "gauge" | "histogram";

export interface DocumentedMetric {
  name: string;
  type: MetricType;
  labels: readonly string[];
}

const m = (name: string, type: MetricType, labels: readonly string[] = []): DocumentedMetric => ({ name, type, labels });

/** What `serve --metrics` exports (besides prom-client's defaults). */
export const SERVE_METRICS: readonly DocumentedMetric[] = [
  m("mq_archive_outbox_head_seq", "gauge"),
  m("mq_archive_outbox_first_seq", "gauge"),
  m("mq_archive_outbox_records", "gauge"),
  m("mq_archive_outbox_bytes", "gauge"),
  m("mq_archive_records_committed_total", "counter"),
  m("mq_archive_records_pruned_total", "counter"),
  m("mq_archive_peer_acked_seq", "gauge", ["peer"]),
  m("mq_archive_peer_lag_records", "gauge", ["peer"]),
  m("mq_archive_peer_lag_bytes", "gauge", ["peer"]),
  m("mq_archive_peer_oldest_unacked_age_seconds", "gauge", ["peer"]),
  m("mq_archive_peer_last_seen_age_seconds", "gauge", ["peer"]),
  m("mq_archive_peer_connected", "gauge", ["peer"]),
  m("mq_archive_peer_dead_letters", "gauge", ["peer"]),
  m("mq_archive_refused_handshakes_total", "counter"),
  m("mq_archive_bad_frames_total", "counter"),
  m("mq_archive_hellos_total", "counter"),
  m("mq_archive_spool_waiting_files", "gauge"),
  m("mq_archive_spool_oldest_age_seconds", "gauge"),
  m("mq_archive_spool_rejected_files", "gauge"),
];

/** What `subscribe --metrics` exports (besides prom-client's defaults). */
export const SUBSCRIBE_METRICS: readonly DocumentedMetric[] = [
  m("mq_archive_subscriber_position_seq", "gauge"),
  m("mq_archive_subscriber_publisher_head_seq", "gauge"),
  m("mq_archive_subscriber_lag_records", "gauge"),
  m("mq_archive_subscriber_connected", "gauge"),
  m("mq_archive_subscriber_sessions_total", "counter"),
  m("mq_archive_subscriber_records_received_total", "counter", ["via"]),
  m("mq_archive_subscriber_duplicates_total", "counter"),
  m("mq_archive_subscriber_pub_pauses_total", "counter"),
  m("mq_archive_subscriber_dead_letters", "gauge"),
  m("mq_archive_sink_records_stored_total", "counter", ["sink", "kind"]),
  m("mq_archive_sink_store_duration_seconds", "histogram", ["sink"]),
  m("mq_archive_sink_retries_total", "counter", ["sink"]),
  m("mq_archive_sink_dead_letters_total", "counter", ["sink"]),
  m("mq_archive_sink_failing_seconds", "gauge", ["sink"]),
];

/** Series Prometheus makes itself for every target. */
const SCRAPE_SERIES = ["up"];

/** prom-client's default process and Node.js metrics, as this version names them. */
export async function promClientDefaults(): Promise<DocumentedMetric[]> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = await registry.getMetricsAsJSON();
  registry.clear();
  return metrics.map((x) => m(x.name, String(x.type) as MetricType));
}

/** Every series name a query may read: histograms as their _bucket, _sum and _count series. */
export async function queryableNames(): Promise<Set<string>> {
  const names = new Set(SCRAPE_SERIES);
  for (const metric of [...SERVE_METRICS, ...SUBSCRIBE_METRICS, ...(await promClientDefaults())]) {
    if (metric.type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(metric.name + suffix);
    else names.add(metric.name);
  }
  return names;
}

const NOT_METRICS = new Set([
  "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
  "and", "or", "unless", "atan2", "inf", "nan",
]);

/**
 * The metric names a PromQL expression reads. Not a parser: it drops what
 * cannot hold a metric name (strings, label matchers, ranges, grouping
 * label lists, Grafana variables), then takes every identifier that is not
 * a function call, a keyword or a number. Enough for the expressions in
 * examples/prometheus; a construct it misreads names a metric that is not
 * documented, and the test fails loudly rather than passing silently.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
    .replace(/\$\{[^}]*\}|\$\w+/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const token of stripped.matchAll(/\d[\w.]*(?:[eE][+-]?\d+)?|[A-Za-z_:][\w:]*(\s*\()?/g)) {
    const [text, call] = [token[0], token[1]];
    if (/^\d/.test(text) || call !== undefined || NOT_METRICS.has(text.toLowerCase())) continue;
    names.add(text);
  }
  return [...names];
}
