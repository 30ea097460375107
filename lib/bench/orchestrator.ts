// `mq-archive bench`: serve, S subscribers and a publisher as separate
// processes on loopback, like `nats bench`. Reports the durable publish
// rate, the end-to-end rate (committed → acknowledged by every subscriber),
// latency from commit to subscriber hand-off, and each process's peak RSS
// and CPU time per message (steadier than rates on a shared machine).

import { fork, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { generateKeyPair, writeKeyFiles } from "../security/keys.js";
import type { SinkOptions } from "../sinks/parse.js";
import type { PublisherJob, RoleMessage, SubscriberJob } from "./roles.js";
import { cpuSeconds, peakRss, percentile } from "./stats.js";

/** Extra node flags for every process of the run (bench/profile.ts sets --cpu-prof here). */
const NODE_ARGS = (process.env.MQA_BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
/**
 * serve and the subscribers run as the example systemd units run them, with
 * NODE_OPTIONS=--max-semi-space-size=2: received bodies are zero-copy buffers
 * owned by libzmq, freed when their JS objects are collected; in a small
 * young generation most die in the next scavenge, in the default (16 MiB
 * semi-spaces) they are promoted and wait for full collections, which V8
 * starts only after ~64 MB of them. The publishing role stands for
 * `publish` processes, which run without it (it costs a cold process ~8 ms).
 */
export const DAEMON_NODE_ARGS: readonly string[] = ["--max-semi-space-size=2"];

export interface BenchOptions {
  bin: string;
  messages: number;
  size: number;
  subscribers: number;
  /** null, maildir or mbox (a directory per subscriber in the working directory), or a full sink spec. */
  sink: string;
  sinkOptions?: SinkOptions;
  /** serve and the subscribers with their metrics endpoints on, each scraped every second. */
  metrics?: boolean;
  rate: number | null;
  backlog: boolean;
  secure: boolean;
  dir?: string;
  onProgress?: (line: string) => void;
}

export interface BenchReport {
  messages: number;
  size: number;
  subscribers: number;
  sink: string;
  mode: "throughput" | "rate" | "backlog";
  secure: boolean;
  /** Metrics endpoints on and scraped every second: how many scrapes answered 200 (null: off). */
  metricsScrapes: number | null;
  /** Records committed per second by the publishing process. */
  publishRate: number;
  /** Messages per second from the first commit until every subscriber acknowledged the last. */
  endToEndRate: number;
  /** In backlog mode: messages per second a fresh subscriber caught up. */
  catchUpRate: number | null;
  megabytesPerSecond: number;
  /** Commit → subscriber hand-off, in milliseconds (only where commits are timed: --rate). */
  latencyMs: { p50: number | null; p99: number | null; p999: number | null; samples: number };
  peakRssBytes: { serve: number; publisher: number; subscribers: number[] };
  /** CPU time (user + system) per message, in microseconds, from each process's start of work to its result. */
  cpuMicrosPerMessage: { serve: number; publisher: number; subscribers: number[] };
}

interface Child<T extends RoleMessage["type"]> {
  process: ChildProcess;
  result: Promise<Extract<RoleMessage, { type: T }>>;
  /** Resolves when it is ready, with its metrics endpoint's URL when it has one. */
  ready: Promise<string>;
  progress: number;
  peak: number;
  /** CPU seconds used between its ready and its result. */
  cpu: number;
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), "mq-archive-bench-"));
  // The outbox in a directory of its own, as beside Mailman: serve watches that directory, and
  // the subscribers' files (on the archive hosts in a deployment) would only add events to it.
  const db = join(dir, "outbox", "outbox.db");
  mkdirSync(dirname(db), { recursive: true });
  const security = o.secure ? makeKeys(dir, o.subscribers) : null;
  const serve = await startServe(o.bin, db, [...(security?.serveArgs ?? ["--insecure"]), ...(o.metrics ? ["--metrics", "127.0.0.1:0"] : [])]);
  const serveCpuAtStart = cpuSeconds(serve.process.pid!);
  const children: ChildProcess[] = [];
  try {
    const publisherJob: PublisherJob = { db, messages: o.messages, size: o.size, rate: o.rate, list: "bench" };
    let publisher: Child<"published"> | null = null;
    let backlogDone = 0;
    if (o.backlog) {
      publisher = role(o.bin, "publisher", publisherJob, "published");
      children.push(publisher.process);
      await publisher.result;
      backlogDone = performance.timeOrigin + performance.now();
    }
    const subscribers = Array.from({ length: o.subscribers }, (_, index) => {
      const job: SubscriberJob = {
        index, connect: serve.endpoint, dir, sink: o.sink, sinkOptions: o.sinkOptions ?? {}, metrics: o.metrics ?? false, expect: o.messages,
        security: security ? { keyFile: security.subscriberKeys[index]!, serverKey: security.serverKey } : null,
      };
      return role(o.bin, "subscriber", job, "delivered");
    });
    children.push(...subscribers.map((s) => s.process));
    const subscriberMetrics = await Promise.all(subscribers.map((s) => s.ready));
    const scraper = o.metrics ? startScraping([serve.metrics!, ...subscriberMetrics]) : null;
    if (!o.backlog) {
      publisher = role(o.bin, "publisher", publisherJob, "published");
      children.push(publisher.process);
    }
    const ticker = setInterval(() => {
      const delivered = Math.min(...subscribers.map((s) => s.progress));
      o.onProgress?.(`published ${publisher?.progress ?? 0}/${o.messages}, delivered to all ${delivered}/${o.messages}`);
    }, 500);
    const published = await publisher!.result;
    const delivered = await Promise.all(subscribers.map((s) => s.result));
    scraper?.stop();
    clearInterval(ticker);
    const serveRss = peakRss(serve.process.pid!);
    const serveCpu = cpuSeconds(serve.process.pid!) - serveCpuAtStart;
    const perMessage = (seconds: number): number => round((seconds * 1e6) / o.messages, 1);
    const lastDelivery = Math.max(...delivered.map((d) => d.end));
    const catchUpStart = Math.min(...delivered.map((d) => d.start));
    const commits = new Map(published.commits);
    const latencies: number[] = [];
    for (const d of delivered) for (const [seq, t] of d.handoffs) {
      const committed = commits.get(seq);
      if (committed !== undefined) latencies.push(t - committed);
    }
    if (process.env.MQA_BENCH_LATENCIES) {
      const handoffs = new Map(delivered[0]!.handoffs);
      const rows = [...commits].map(([seq, t]) => `${seq} ${(t - published.start).toFixed(3)} ${(handoffs.get(seq) ?? NaN) - t}`);
      writeFileSync(process.env.MQA_BENCH_LATENCIES, `${rows.join("\n")}\n`);
    }
    const seconds = (lastDelivery - (o.backlog ? backlogDone : published.start)) / 1000;
    return {
      messages: o.messages,
      size: o.size,
      subscribers: o.subscribers,
      sink: o.sink,
      mode: o.backlog ? "backlog" : o.rate === null ? "throughput" : "rate",
      secure: o.secure,
      metricsScrapes: scraper?.answered ?? null,
      publishRate: round(o.messages / ((published.end - published.start) / 1000)),
      endToEndRate: round(o.messages / seconds),
      catchUpRate: o.backlog ? round(o.messages / ((lastDelivery - catchUpStart) / 1000)) : null,
      megabytesPerSecond: round((o.messages * o.size) / 1e6 / seconds, 1),
      latencyMs: {
        p50: rounded(percentile(latencies, 50)),
        p99: rounded(percentile(latencies, 99)),
        p999: rounded(percentile(latencies, 99.9)),
        samples: latencies.length,
      },
      peakRssBytes: { serve: serveRss, publisher: publisher!.peak, subscribers: subscribers.map((s) => s.peak) },
      cpuMicrosPerMessage: {
        serve: perMessage(serveCpu),
        publisher: perMessage(publisher!.cpu),
        subscribers: subscribers.map((s) => perMessage(s.cpu)),
      },
    };
  } finally {
    // Dismissed children exit by themselves (writing their profiles, if any); stragglers are killed.
    for (const c of children) if (c.connected) c.disconnect();
    await Promise.all(children.map((c) => exitWithin(c, 5000)));
    serve.process.kill("SIGTERM");
    await new Promise((resolve) => (serve.process.exitCode !== null ? resolve(null) : serve.process.once("exit", resolve)));
    if (o.dir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

async function exitWithin(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  await exited;
  clearTimeout(timer);
}

function round(n: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function rounded(n: number | null): number | null {
  return n === null ? null : round(n, 3);
}

/** Fork a bench role; its peak RSS and CPU time are read when it reports its result, before it exits. */
function role<T extends RoleMessage["type"]>(bin: string, name: string, job: PublisherJob | SubscriberJob, result: T): Child<T> {
  const child = fork(bin, ["bench", "--role", name, "--spec", JSON.stringify(job)], {
    execArgv: name === "publisher" ? NODE_ARGS : [...DAEMON_NODE_ARGS, ...NODE_ARGS],
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  let cpuAtReady = 0;
  let markReady!: (metrics: string) => void;
  let failReady!: (err: Error) => void;
  const entry = {
    process: child,
    progress: 0,
    peak: 0,
    cpu: 0,
    ready: new Promise<string>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    }),
    result: new Promise<Extract<RoleMessage, { type: T }>>((resolve, reject) => {
      child.on("message", (m: RoleMessage) => {
        if (m.type === "ready") {
          cpuAtReady = cpuSeconds(child.pid!);
          markReady(m.metrics ?? "");
        } else if (m.type === "progress") entry.progress = m.count;
        else if (m.type === result) {
          entry.peak = peakRss(child.pid!);
          entry.cpu = cpuSeconds(child.pid!) - cpuAtReady;
          entry.progress = "messages" in job ? job.messages : job.expect;
          resolve(m as Extract<RoleMessage, { type: T }>);
        }
      });
      child.on("exit", (code) => {
        const err = new Error(`bench ${name} exited with ${code} before it finished`);
        failReady(err);
        reject(err);
      });
    }),
  };
  // Killing the children at the end rejects what nobody waits for any more.
  entry.ready.catch(() => {});
  entry.result.catch(() => {});
  return entry;
}

/** Scrape every URL once a second, as a (demanding) Prometheus would; bodies are read and dropped. */
function startScraping(urls: readonly string[]): { stop: () => void; answered: number } {
  const scraper = {
    answered: 0,
    stop: () => clearInterval(timer),
  };
  const scrape = (): void => {
    for (const url of urls) {
      void fetch(`${url}/metrics`)
        .then(async (r) => {
          await r.arrayBuffer();
          if (r.status === 200) scraper.answered++;
        })
        .catch(() => {});
    }
  };
  const timer = setInterval(scrape, 1000);
  scrape();
  return scraper;
}

async function startServe(bin: string, db: string, args: string[]): Promise<{ process: ChildProcess; endpoint: string; metrics: string | null }> {
  const child = spawn(process.execPath, [...DAEMON_NODE_ARGS, ...NODE_ARGS, bin, "serve", "--db", db, "--bind", "tcp://127.0.0.1:0", ...args, "--log-level", "info"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const m = /"router":"([^"]+)"/.exec(buffered);
      const metrics = /"metrics":"([^"]+)"/.exec(buffered)?.[1] ?? null;
      if (m && (metrics !== null || !args.includes("--metrics"))) {
        child.stderr!.off("data", onData);
        child.stderr!.resume();
        resolve({ process: child, endpoint: m[1]!, metrics });
      }
    };
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${buffered.slice(-500)}`)));
  });
}

function makeKeys(dir: string, subscribers: number): { serveArgs: string[]; serverKey: string; subscriberKeys: string[] } {
  const server = generateKeyPair();
  writeKeyFiles(join(dir, "publisher"), server);
  const subscriberKeys: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < subscribers; i++) {
    const pair = generateKeyPair();
    subscriberKeys.push(writeKeyFiles(join(dir, `sub${i}`), pair).keyFile);
    lines.push(`${pair.publicKey} name=bench-${i}`);
  }
  writeFileSync(join(dir, "peers"), `${lines.join("\n")}\n`);
  return {
    serveArgs: ["--key", join(dir, "publisher.key"), "--peers", join(dir, "peers")],
    serverKey: server.publicKey,
    subscriberKeys,
  };
}
