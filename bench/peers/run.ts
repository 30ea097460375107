// mq-archive against what users would run instead, on this machine, in one
// run, interleaved (A B C …, three rounds) so a noisy machine hurts all
// alike; prints the medians and each one's ratio to mq-archive.
//
//   npm run bench:peers -- [--messages 50000] [--size 10KB] [--rounds 3] [--subscribers 20]
//
// Peers: RabbitMQ (durable classic and quorum queues, persistent messages,
// publisher confirms, manual acks) and Redis Streams (consumer group with
// XACK; appendfsync everysec and always), plus the limits underneath: the
// same bodies inserted into the outbox's SQLite table alone, and raw ZeroMQ PUB→SUB (one SUB, and
// --subscribers SUBs for the fan-out comparison). It starts redis-server and
// rabbitmq-server from Debian's packages on loopback and installs nothing.

import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BenchMessages } from "../../lib/bench/messages.js";
import { runBench } from "../../lib/bench/orchestrator.js";
import { IMPORT_BATCH } from "../../lib/ingest/bulk-import.js";
import { median, preciseNow } from "../../lib/bench/stats.js";
import { parseSize } from "../../lib/config/units.js";
import { Outbox } from "../../lib/store/outbox.js";
import type { PeerJob, PeerMessage } from "./roles.js";
import { missingServers, startRabbit, startRedis, type Server } from "./servers.js";
import { BIN } from "../bin.js";

const ROLES = fileURLToPath(new URL("./roles.ts", import.meta.url));

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "50000" },
    size: { type: "string", default: "10KB" },
    rounds: { type: "string", default: "3" },
    subscribers: { type: "string", default: "20" },
    only: { type: "string" },
  },
});
const N = Number(values.messages);
const SIZE = parseSize(values.size!) ?? 10_240;
const FANOUT = Number(values.subscribers);

type Measure = () => Promise<number>;

function role(name: string, job: PeerJob): { done: Promise<Extract<PeerMessage, { type: "done" }>>; ready: Promise<void>; go: () => void; kill: () => void } {
  const child = fork(ROLES, [name, JSON.stringify(job)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let ready!: () => void;
  const readyP = new Promise<void>((resolve) => (ready = resolve));
  const done = new Promise<Extract<PeerMessage, { type: "done" }>>((resolve, reject) => {
    child.on("message", (m: PeerMessage) => (m.type === "ready" ? ready() : resolve(m)));
    child.on("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  done.catch(() => {});
  return { done, ready: readyP, go: () => child.send("go"), kill: () => child.kill("SIGKILL") };
}

/** Producer and consumer processes against a server: messages/s from the first send to the last ack. */
async function producerConsumer(kind: "redis" | "rabbit", job: PeerJob): Promise<number> {
  const consumer = role(`${kind}-consumer`, job);
  await consumer.ready;
  const producer = role(`${kind}-producer`, job);
  try {
    const [p, c] = await Promise.all([producer.done, consumer.done]);
    return N / ((c.end - p.start) / 1000);
  } finally {
    producer.kill();
    consumer.kill();
  }
}

async function withServer(start: () => Promise<Server>, measure: (port: number) => Promise<number>): Promise<number> {
  const server = await start();
  try {
    return await measure(server.port);
  } finally {
    await server.stop();
  }
}

/** The same bodies into the outbox's table through the outbox's records.appendMany (its Message-ID check included), in the bench's batches of 1,000, WAL, synchronous=FULL, nothing delivered: the floor under this outbox. */
async function sqliteBatch(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "mqa-sqlite-"));
  const outbox = Outbox.open(join(dir, "raw.db"));
  const messages = new BenchMessages(SIZE);
  try {
    const start = preciseNow();
    for (let i = 0; i < N; i += IMPORT_BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(N, i + IMPORT_BATCH); j++) batch.push({ list: "bench", messageId: messages.messageId(j), body: messages.body(j) });
      outbox.records.appendMany(batch);
    }
    return N / ((preciseNow() - start) / 1000);
  } finally {
    await outbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Raw PUB → `subscribers` SUB processes, no drops (HWM 0): aggregate messages/s delivered. */
async function zmqFanout(subscribers: number, port: number): Promise<number> {
  const endpoint = `tcp://127.0.0.1:${port}`;
  const publisher = role("zmq-publisher", { port, messages: N, size: SIZE, endpoint });
  await publisher.ready;
  const subs = Array.from({ length: subscribers }, () => role("zmq-subscriber", { port, messages: N, size: SIZE, endpoint }));
  try {
    await Promise.all(subs.map((s) => s.ready));
    await new Promise((resolve) => setTimeout(resolve, 500)); // subscriptions reach the publisher (slow joiner)
    publisher.go();
    const [p, ...done] = await Promise.all([publisher.done, ...subs.map((s) => s.done)]);
    return (N * subscribers) / ((Math.max(...done.map((d) => d.end)) - p.start) / 1000);
  } finally {
    publisher.kill();
    for (const s of subs) s.kill();
  }
}

async function mqArchive(subscribers: number): Promise<number> {
  const report = await runBench({ bin: BIN, messages: N, size: SIZE, subscribers, sink: "null", rate: null, backlog: false, secure: false });
  return report.endToEndRate * subscribers;
}

let port = 26_000;
const nextPort = (): number => (port += 7);

const SYSTEMS: Array<[string, Measure]> = [
  ["mq-archive (1 subscriber, end to end)", () => mqArchive(1)],
  ["Redis Streams, appendfsync everysec", () => withServer(() => startRedis(nextPort(), "everysec"), (p) => producerConsumer("redis", { port: p, messages: N, size: SIZE }))],
  ["Redis Streams, appendfsync always", () => withServer(() => startRedis(nextPort(), "always"), (p) => producerConsumer("redis", { port: p, messages: N, size: SIZE }))],
  ["RabbitMQ, durable classic queue", () => withServer(() => startRabbit(nextPort()), (p) => producerConsumer("rabbit", { port: p, messages: N, size: SIZE, queueType: "classic" }))],
  ["RabbitMQ, quorum queue", () => withServer(() => startRabbit(nextPort()), (p) => producerConsumer("rabbit", { port: p, messages: N, size: SIZE, queueType: "quorum" }))],
  ["SQLite batch insert, outbox schema (same bodies)", sqliteBatch],
  ["raw ZeroMQ PUB→SUB (1 SUB)", () => zmqFanout(1, nextPort())],
  [`mq-archive, ${FANOUT} subscribers (aggregate)`, () => mqArchive(FANOUT)],
  [`raw ZeroMQ PUB→SUB (${FANOUT} SUBs, aggregate)`, () => zmqFanout(FANOUT, nextPort())],
];

async function main(): Promise<void> {
  const missing = missingServers();
  const systems = SYSTEMS.filter(([name]) => {
    if (values.only && !name.toLowerCase().includes(values.only.toLowerCase())) return false;
    if (missing.includes("redis-server") && name.startsWith("Redis")) return false;
    if (missing.includes("rabbitmq-server") && name.startsWith("RabbitMQ")) return false;
    return true;
  });
  if (missing.length > 0) {
    process.stderr.write(`!!! not measured: ${missing.join(", ")} missing. Install with: apt-get install ${missing.join(" ")}\n`);
  }
  const results = new Map<string, number[]>(systems.map(([name]) => [name, []]));
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const [name, measure] of systems) {
      process.stderr.write(`round ${round}: ${name} … `);
      const rate = await measure();
      results.get(name)!.push(rate);
      process.stderr.write(`${Math.round(rate).toLocaleString("en")} msg/s\n`);
    }
  }
  const medians = new Map([...results].map(([name, rates]) => [name, median(rates)]));
  const base = medians.get(SYSTEMS[0]![0]) ?? NaN;
  const width = Math.max(...[...medians.keys()].map((k) => k.length));
  process.stdout.write(`\n${N.toLocaleString("en")} messages of ${SIZE} bytes, median of ${values.rounds} interleaved rounds\n\n`);
  process.stdout.write(`${"system".padEnd(width)}  msg/s (median)  ratio to mq-archive\n`);
  for (const [name, rate] of medians) {
    process.stdout.write(`${name.padEnd(width)}  ${Math.round(rate).toLocaleString("en").padStart(14)}  ${(rate / base).toFixed(2)}\n`);
  }
}

await main();
process.exit(0);
