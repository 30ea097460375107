// The other systems' producers and consumers for bench/peers, each a child
// process reporting over IPC, doing the job mq-archive does: commit each
// message durably (publisher confirms, XADD), deliver it to a consumer that
// acknowledges it (manual ack, XACK).
//
//   node --import tsx bench/peers/roles.ts <role> '<json job>'

import amqp from "amqplib";
import { Redis } from "ioredis";
import { BenchMessages } from "../../lib/bench/messages.js";
import { preciseNow } from "../../lib/bench/stats.js";

export interface PeerJob {
  port: number;
  messages: number;
  size: number;
  /** RabbitMQ queue type. */
  queueType?: "classic" | "quorum";
  endpoint?: string;
}

export type PeerMessage = { type: "ready" } | { type: "done"; start: number; end: number; count: number };

const BATCH = 256;

function tell(m: PeerMessage): Promise<void> {
  return new Promise((resolve) => (process.send ? process.send(m, undefined, {}, () => resolve()) : resolve()));
}

async function redisProducer(job: PeerJob): Promise<void> {
  const redis = new Redis({ port: job.port, host: "127.0.0.1" });
  const messages = new BenchMessages(job.size);
  await tell({ type: "ready" });
  const start = preciseNow();
  for (let i = 0; i < job.messages; i += BATCH) {
    const pipeline = redis.pipeline();
    for (let j = i; j < Math.min(job.messages, i + BATCH); j++) pipeline.xadd("bench", "*", "b", messages.body(j));
    await pipeline.exec();
  }
  await tell({ type: "done", start, end: preciseNow(), count: job.messages });
  redis.disconnect();
}

async function redisConsumer(job: PeerJob): Promise<void> {
  const redis = new Redis({ port: job.port, host: "127.0.0.1" });
  await redis.xgroup("CREATE", "bench", "g", "$", "MKSTREAM").catch(() => {});
  await tell({ type: "ready" });
  let count = 0;
  let start = 0;
  while (count < job.messages) {
    const reply = (await redis.xreadgroupBuffer("GROUP", "g", "c", "COUNT", BATCH, "BLOCK", 1000, "STREAMS", "bench", ">")) as
      | Array<[Buffer, Array<[Buffer, Buffer[]]>]>
      | null;
    if (!reply) continue;
    if (start === 0) start = preciseNow();
    const ids = reply[0]![1].map(([id]) => id);
    await redis.xack("bench", "g", ...ids);
    count += ids.length;
  }
  await tell({ type: "done", start, end: preciseNow(), count });
  redis.disconnect();
}

async function rabbitProducer(job: PeerJob): Promise<void> {
  const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${job.port}`);
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue("bench", { durable: true, arguments: { "x-queue-type": job.queueType ?? "classic" } });
  const messages = new BenchMessages(job.size);
  await tell({ type: "ready" });
  const start = preciseNow();
  for (let i = 0; i < job.messages; i += BATCH) {
    for (let j = i; j < Math.min(job.messages, i + BATCH); j++) {
      channel.sendToQueue("bench", messages.body(j), { persistent: true });
    }
    await channel.waitForConfirms();
  }
  await tell({ type: "done", start, end: preciseNow(), count: job.messages });
  await connection.close();
}

async function rabbitConsumer(job: PeerJob): Promise<void> {
  const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${job.port}`);
  const channel = await connection.createChannel();
  await channel.assertQueue("bench", { durable: true, arguments: { "x-queue-type": job.queueType ?? "classic" } });
  await channel.prefetch(1000);
  let count = 0;
  let start = 0;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  await channel.consume("bench", (msg) => {
    if (msg === null) return;
    if (start === 0) start = preciseNow();
    count++;
    if (count % 100 === 0 || count === job.messages) channel.ack(msg, true);
    if (count === job.messages) finished();
  });
  await tell({ type: "ready" });
  await done;
  await tell({ type: "done", start, end: preciseNow(), count });
  await connection.close();
}

async function zmqPublisher(job: PeerJob): Promise<void> {
  const zmq = await import("zeromq");
  const socket = new zmq.Publisher({ linger: 0, sendHighWaterMark: 0 });
  await socket.bind(job.endpoint!);
  const messages = new BenchMessages(job.size);
  await tell({ type: "ready" });
  await new Promise<void>((resolve) => process.once("message", () => resolve())); // go, once every subscriber is in
  const start = preciseNow();
  for (let i = 0; i < job.messages; i++) await socket.send(messages.body(i));
  await tell({ type: "done", start, end: preciseNow(), count: job.messages });
  await new Promise((resolve) => process.once("disconnect", resolve));
  socket.close();
}

async function zmqSubscriber(job: PeerJob): Promise<void> {
  const zmq = await import("zeromq");
  const socket = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 0 });
  socket.subscribe();
  socket.connect(job.endpoint!);
  await tell({ type: "ready" });
  let count = 0;
  let start = 0;
  for await (const _ of socket) {
    if (start === 0) start = preciseNow();
    if (++count === job.messages) break;
  }
  await tell({ type: "done", start, end: preciseNow(), count });
  socket.close();
}

const ROLES: Record<string, (job: PeerJob) => Promise<void>> = {
  "redis-producer": redisProducer,
  "redis-consumer": redisConsumer,
  "rabbit-producer": rabbitProducer,
  "rabbit-consumer": rabbitConsumer,
  "zmq-publisher": zmqPublisher,
  "zmq-subscriber": zmqSubscriber,
};

const [role, spec] = process.argv.slice(2);
if (role !== undefined) {
  const run = ROLES[role];
  if (!run) throw new Error(`unknown role ${role}`);
  await run(JSON.parse(spec ?? "{}") as PeerJob);
}
