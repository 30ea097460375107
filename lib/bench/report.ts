// The bench report as a short table for people.

import { formatBytes } from "../config/units.js";
import type { BenchReport } from "./orchestrator.js";

export function formatReport(r: BenchReport): string {
  const ms = (v: number | null): string => (v === null ? "-" : `${v.toFixed(3)} ms`);
  const rss = [
    `serve ${formatBytes(r.peakRssBytes.serve)}`,
    `publisher ${formatBytes(r.peakRssBytes.publisher)}`,
    ...r.peakRssBytes.subscribers.map((b, i) => `subscriber ${i} ${formatBytes(b)}`),
  ];
  const lines = [
    `mq-archive bench: ${r.messages} × ${formatBytes(r.size)}, ${r.subscribers} subscriber(s), sink ${r.sink}, ${r.mode}${r.secure ? ", CURVE" : ""}${r.metricsScrapes === null ? "" : `, metrics scraped every 1 s (${r.metricsScrapes} answered)`}`,
    `  durable publish     ${r.publishRate.toLocaleString("en")} msg/s`,
    `  end to end          ${r.endToEndRate.toLocaleString("en")} msg/s (${r.megabytesPerSecond} MB/s, committed → acked by every subscriber)`,
  ];
  if (r.catchUpRate !== null) lines.push(`  catch-up            ${r.catchUpRate.toLocaleString("en")} msg/s`);
  if (r.latencyMs.samples > 0) {
    lines.push(`  commit → hand-off   p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}, p99.9 ${ms(r.latencyMs.p999)} (${r.latencyMs.samples} samples)`);
  }
  lines.push(`  peak RSS            ${rss.join(", ")}`);
  const cpu = r.cpuMicrosPerMessage;
  const perProcess = [`serve ${cpu.serve} µs`, `publisher ${cpu.publisher} µs`, ...cpu.subscribers.map((c, i) => `subscriber ${i} ${c} µs`)];
  lines.push(`  CPU per message     ${perProcess.join(", ")}`);
  return `${lines.join("\n")}\n`;
}
