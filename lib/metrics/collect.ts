// prom-client metrics whose values the daemon already keeps: each is read at
// scrape time from a function (no work on the daemon's hot path). Counters
// read a running total and add what it grew by since the last scrape.

import { Counter, Gauge, type Registry } from "prom-client";

type Labels = Record<string, string>;
/** The current values, one per label set (a single value: one entry with no labels). */
export type Sample = Array<[Labels, number]>;

type Read = () => Sample | Promise<Sample>;

export function gauge(registry: Registry, name: string, help: string, labelNames: string[], read: Read): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const sample = await read();
      this.reset(); // a peer or sink that went away leaves no stale series
      for (const [labels, value] of sample) if (!Number.isNaN(value)) this.set(labels, value); // NaN: no value (a peer never seen)
    },
  });
}

export function counter(registry: Registry, name: string, help: string, labelNames: string[], read: Read): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      for (const [labels, value] of await read()) {
        const key = JSON.stringify(labels);
        const grew = value - (last.get(key) ?? 0);
        // A series exists from its first scrape, at 0: increase() counts the first rise only after a sample before it.
        if (grew > 0 || !last.has(key)) this.inc(labels, Math.max(0, grew));
        last.set(key, Math.max(value, last.get(key) ?? 0));
      }
    },
  });
}

/** One unlabelled value. */
export function one(value: number): Sample {
  return [[{}, value]];
}
