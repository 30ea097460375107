// What `MQA_BENCH_DEBUG=1 mq-archive bench` adds to a subscriber role, for
// chasing latency and memory: peak memory by kind (sampled every 20 ms),
// garbage collections over 3 ms, and event-loop stalls over 5 ms (a 1 ms
// timer that came late), printed on stderr when the role ends.

import { PerformanceObserver } from "node:perf_hooks";
import { preciseNow } from "./stats.js";

export interface DebugProbes {
  /** Stop sampling and print what was seen, with the subscriber's counters. */
  report(counters: object): void;
}

export function startDebugProbes(): DebugProbes | null {
  if (!process.env.MQA_BENCH_DEBUG) return null;
  const peaks: Record<string, number> = {};
  const sampler = setInterval(() => {
    for (const [k, v] of Object.entries(process.memoryUsage())) peaks[k] = Math.max(peaks[k] ?? 0, Math.round(v / 2 ** 20));
  }, 20);
  const gcs: Array<[number, number, number]> = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail: { kind: number } }).detail.kind;
      if (e.duration > 3) gcs.push([Math.round(performance.timeOrigin + e.startTime), Math.round(e.duration), kind]);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const stalls: Array<[number, number]> = [];
  let lastTick = preciseNow();
  const stallProbe = setInterval(() => {
    const now = preciseNow();
    if (now - lastTick > 5) stalls.push([Math.round(now), Math.round(now - lastTick)]);
    lastTick = now;
  }, 1);
  return {
    report(counters) {
      clearInterval(sampler);
      clearInterval(stallProbe);
      observer.disconnect();
      process.stderr.write(`subscriber event-loop stalls > 5 ms: ${JSON.stringify(stalls.slice(0, 40))}\n`);
      process.stderr.write(`subscriber GC > 3 ms [start, ms, kind]: ${JSON.stringify(gcs.slice(0, 40))}\n`);
      process.stderr.write(`subscriber peak memory (MiB): ${JSON.stringify(peaks)} counters ${JSON.stringify(counters)}\n`);
    },
  };
}
