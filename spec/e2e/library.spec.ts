// The library: Publisher and Subscriber in one process (handler and
// `for await` styles), and the shipped custom-archiver example as a real
// process against a real `serve`.

import { expect } from "chai";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Outbox, Publisher, Subscriber, generateKeyPair, type SinkRecord } from "../../lib/index.js";
import { UsageError } from "../../lib/errors.js";
import { PeerAcl } from "../../lib/security/peers-file.js";
import { Mesh } from "../helpers/mesh.js";
import { freePortPair } from "../helpers/ports.js";
import { makeMessage, sha256 } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const EXAMPLE = fileURLToPath(new URL("../../dist/examples/custom-archiver.js", import.meta.url));

/** What a test opened, closed after it in reverse order: subscribers, then publishers, then the outbox. */
const opened: Array<() => unknown> = [];

function closeAfterTest<T>(thing: T, close: (thing: T) => unknown): T {
  opened.push(() => close(thing));
  return thing;
}

async function startPublisher(dir: string): Promise<{ outbox: Outbox; publisher: Publisher; endpoint: string }> {
  const outbox = closeAfterTest(Outbox.open(join(dir, "outbox.db")), (o) => o.close());
  const publisher = closeAfterTest(new Publisher({ outbox, bind: "tcp://127.0.0.1:*", heartbeatMs: 200 }), (p) => p.close());
  const { router } = await publisher.start();
  return { outbox, publisher, endpoint: router };
}

/** A subscriber whose handler waits until open() is called: a stuck archive. Small credit, so four windows are 4 MiB. */
function gatedSubscriber(endpoint: string, dir: string): { subscriber: Subscriber; open: () => void; got: number[] } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const got: number[] = [];
  const subscriber = new Subscriber({
    connect: endpoint,
    state: join(dir, "sub.db"),
    creditBytes: 1024 * 1024,
    handler: async (r) => {
      await gate;
      got.push(r.seq);
    },
  });
  closeAfterTest(subscriber, (sub) => {
    open(); // a handler still waiting would hold close() up
    return sub.close();
  });
  return { subscriber, open, got };
}

/** A subscriber whose handler collects what it is given. */
function collectingSubscriber(endpoint: string, dir: string): { subscriber: Subscriber; got: SinkRecord[] } {
  const got: SinkRecord[] = [];
  const subscriber = new Subscriber({ connect: endpoint, state: join(dir, "sub.db"), handler: (r) => void got.push(r) });
  return { subscriber: closeAfterTest(subscriber, (sub) => sub.close()), got };
}

/**
 * Commit 20 KB messages one at a time, as live traffic (PUB carries them as
 * they come), until `done()`. Returns the index of the next message.
 */
async function publishLiveUntil(outbox: Outbox, publisher: Publisher, from: number, done: () => boolean, what: string): Promise<number> {
  let next = from;
  await waitFor(
    () => {
      if (done()) return true;
      outbox.records.append(makeMessage("dev", next++, 20_000));
      publisher.notify();
      return false;
    },
    { what, intervalMs: 2 },
  );
  return next;
}

describe("library", function () {
  this.timeout(60_000);
  afterEach(async () => {
    for (const close of opened.splice(0).reverse()) await close();
  });

  it("a handler receives every record in order; its resolved promise acknowledges", async () => {
    const dir = tempDir();
    const { outbox, publisher, endpoint } = await startPublisher(dir);
    const { subscriber, got } = collectingSubscriber(endpoint, dir);
    await subscriber.start();
    const messages = Array.from({ length: 300 }, (_, i) => makeMessage(i % 2 ? "a" : "b", i));
    for (const m of messages) outbox.records.append(m);
    publisher.notify();
    await waitFor(() => subscriber.position === outbox.records.head(), { what: "the handler to store everything" });
    expect(got.map((r) => sha256(r.body))).to.deep.equal(messages.map((m) => sha256(m.body)));
    expect(got.map((r) => r.seq)).to.deep.equal([...got.map((r) => r.seq)].sort((x, y) => x - y));
  });

  it("SubscriberOptions.start: a new peer with start new gets only what comes after its first session; a bad value refuses to start", async () => {
    const dir = tempDir();
    const { outbox, publisher, endpoint } = await startPublisher(dir);
    for (let i = 0; i < 5; i++) outbox.records.append(makeMessage("dev", i));
    const got: number[] = [];
    const subscriber = new Subscriber({ connect: endpoint, state: join(dir, "new.db"), start: "new", handler: (r) => void got.push(r.seq) });
    closeAfterTest(subscriber, (sub) => sub.close());
    await subscriber.start();
    await waitFor(() => subscriber.connected && subscriber.position === 5, { what: "the session, at the head" });
    outbox.records.append(makeMessage("dev", 5));
    publisher.notify();
    await waitFor(() => subscriber.position === 6, { what: "the new record" });
    expect(got).to.deep.equal([6]);

    const bad = new Subscriber({ connect: endpoint, state: join(dir, "bad.db"), start: "yesterday", handler: () => {} });
    const refused = await bad.start().then(() => null, (err: unknown) => err);
    expect(refused).to.be.instanceOf(UsageError).and.have.property("message").that.includes("seq:N");
  });

  it("records whose headers overflow one batch frame arrive in several (Message-IDs of 4,000 three-byte characters)", async () => {
    const dir = tempDir();
    const { outbox, publisher, endpoint } = await startPublisher(dir);
    const { subscriber, got } = collectingSubscriber(endpoint, dir);
    // 64 of these in one batch header would be ~770 KB, over the 64 KiB header limit.
    const ids = Array.from({ length: 200 }, (_, i) => `<${"€".repeat(4000)}.${i}>`);
    for (const [i, messageId] of ids.entries()) outbox.records.append({ list: "dev", messageId, body: makeMessage("dev", i).body });
    await subscriber.start();
    await waitFor(() => subscriber.position === outbox.records.head(), { what: "every record" });
    expect(got.map((r) => r.messageId)).to.deep.equal(ids);
  });

  it("a subscriber whose handler stalls stops taking PUB once it holds four credit windows, then resumes it, losing nothing", async () => {
    const dir = tempDir();
    const { outbox, publisher, endpoint } = await startPublisher(dir);
    const { subscriber, open, got } = gatedSubscriber(endpoint, dir);
    await subscriber.start();
    await waitFor(() => subscriber.connected, { what: "the session" });
    // The handler is stuck: PUB's records pile up until they pass four credit windows (4 MiB).
    let n = await publishLiveUntil(outbox, publisher, 0, () => subscriber.counters.pubPauses >= 1, "PUB to be paused");
    // Paused means PUB sends nothing more. Absence needs a window: what was in flight comes within 300 ms on loopback.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const beforeMore = subscriber.counters.fromPub;
    for (const end = n + 50; n < end; n++) outbox.records.append(makeMessage("dev", n, 20_000));
    publisher.notify();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(subscriber.counters.fromPub, "records from PUB while paused").to.equal(beforeMore);
    open();
    await waitFor(() => subscriber.position === outbox.records.head(), { what: "every record" });
    expect(got).to.deep.equal(Array.from({ length: n }, (_, i) => i + 1));
    // Caught up, it takes PUB again: keep publishing until a record comes that way.
    const fromPub = subscriber.counters.fromPub;
    n = await publishLiveUntil(outbox, publisher, n, () => subscriber.counters.fromPub > fromPub, "a record by PUB after the pause");
    await waitFor(() => subscriber.position === outbox.records.head(), { what: "the rest" });
    expect(got).to.deep.equal(Array.from({ length: n }, (_, i) => i + 1));
  });

  it("a paused subscriber takes PUB again in its next session (a restarted publisher)", async () => {
    const dir = tempDir();
    const first = await startPublisher(dir);
    const { outbox, endpoint } = first;
    let publisher = first.publisher;
    const { subscriber, open, got } = gatedSubscriber(endpoint, dir);
    await subscriber.start();
    await waitFor(() => subscriber.connected, { what: "the session" });
    let n = await publishLiveUntil(outbox, publisher, 0, () => subscriber.counters.pubPauses === 1, "PUB to be paused");
    await publisher.close();
    // The same ROUTER endpoint (what the subscriber connects to), once the closed socket has let go of the port.
    publisher = await waitFor(async () => {
      const next = new Publisher({ outbox, bind: endpoint, pubBind: "tcp://127.0.0.1:*", heartbeatMs: 200 });
      try {
        await next.start();
        return closeAfterTest(next, (p) => p.close());
      } catch (err) {
        await next.close();
        if ((err as Error).message.includes("in use")) return undefined;
        throw err;
      }
    }, { what: "the publisher to bind again" });
    await waitFor(() => subscriber.counters.hellos >= 2 && subscriber.connected, { what: "the next session" });
    // Still stuck: PUB is taken again, fills four windows again and is paused again.
    n = await publishLiveUntil(outbox, publisher, n, () => subscriber.counters.pubPauses === 2, "PUB taken, then paused again");
    open();
    await waitFor(() => subscriber.position === outbox.records.head(), { what: "every record" });
    expect(got).to.deep.equal(Array.from({ length: n }, (_, i) => i + 1));
  });

  it("subscribers backfilling together share serve's reads; each stores its whole history once, in order, and a restricted one only its lists", async () => {
    const dir = tempDir();
    const keys = { publisher: generateKeyPair(), one: generateKeyPair(), two: generateKeyPair(), restricted: generateKeyPair() };
    const peers = new PeerAcl([
      { key: keys.one.publicKey, name: "one", lists: null },
      { key: keys.two.publicKey, name: "two", lists: null },
      { key: keys.restricted.publicKey, name: "restricted", lists: ["pub-*"] },
    ]);
    const messages = Array.from({ length: 4000 }, (_, i) => makeMessage(i % 2 ? "pub-a" : "priv-b", i, 4000));
    const outbox = closeAfterTest(Outbox.open(join(dir, "outbox.db")), (o) => o.close());
    for (const m of messages) outbox.records.append(m); // a backlog: nobody is connected yet
    const security = { keys: keys.publisher, peers };
    const publisher = closeAfterTest(new Publisher({ outbox, bind: "tcp://127.0.0.1:*", heartbeatMs: 200, security }), (p) => p.close());
    const { router } = await publisher.start();
    const subs = (["one", "two", "restricted"] as const).map((who) => {
      const got: SinkRecord[] = [];
      const security = { keys: keys[who], serverKey: keys.publisher.publicKey };
      const subscriber = new Subscriber({ connect: router, state: join(tempDir(), "sub.db"), security, handler: (r) => void got.push(r) });
      return { who, subscriber: closeAfterTest(subscriber, (sub) => sub.close()), got };
    });
    await Promise.all(subs.map((s) => s.subscriber.start()));
    await waitFor(() => subs.every((s) => s.subscriber.position === outbox.records.head()), { what: "every subscriber to store the backlog" });
    for (const { who, got } of subs) {
      const entitled = messages.filter((m) => who !== "restricted" || m.list.startsWith("pub-"));
      expect(got.map((r) => sha256(r.body)), who).to.deep.equal(entitled.map((m) => sha256(m.body)));
      expect(got.map((r) => r.seq), who).to.deep.equal([...got.map((r) => r.seq)].sort((x, y) => x - y));
    }
    expect(publisher.counters().sharedReads, "records a stream took from memory").to.be.greaterThan(0);
  });

  it("`for await` yields records; acked ones are not delivered again after a restart", async () => {
    const dir = tempDir();
    const { outbox, publisher, endpoint } = await startPublisher(dir);
    for (let i = 0; i < 10; i++) outbox.records.append(makeMessage("dev", i));
    const first = closeAfterTest(new Subscriber({ connect: endpoint, state: join(dir, "sub.db") }), (sub) => sub.close());
    await first.start();
    const seen: number[] = [];
    for await (const d of first) {
      seen.push(d.seq);
      await d.ack();
      if (seen.length === 10) break; // ends the iteration and closes the subscriber
    }
    expect((await first.closed()).type).to.equal("closed");
    expect(seen).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    for (let i = 10; i < 15; i++) outbox.records.append(makeMessage("dev", i));
    publisher.notify();
    const second = closeAfterTest(new Subscriber({ connect: endpoint, state: join(dir, "sub.db") }), (sub) => sub.close());
    await second.start();
    const after: number[] = [];
    for await (const d of second) {
      after.push(d.seq);
      await d.ack();
      if (after.length === 5) break;
    }
    expect(after).to.deep.equal([11, 12, 13, 14, 15]);
  });

  it("the custom-archiver example archives what `serve` publishes", async () => {
    const mesh = await Mesh.create();
    await mesh.serve();
    const out = mesh.path("custom");
    const metricsPort = await freePortPair();
    const child = spawn(process.execPath, [EXAMPLE, mesh.endpoint, mesh.path("custom.db"), out, `127.0.0.1:${metricsPort}`], { stdio: "ignore" });
    try {
      const messages = Array.from({ length: 20 }, (_, i) => makeMessage("dev", i));
      const seqs = mesh.publish(messages);
      await waitFor(() => seqs.every((s) => existsSync(join(out, "dev", `${s}.eml`))), { what: "the example's files" });
      await mesh.waitAcked(["custom-archiver"], seqs[seqs.length - 1]!);
      seqs.forEach((s, i) => expect(sha256(readFileSync(join(out, "dev", `${s}.eml`)))).to.equal(sha256(messages[i]!.body)));
      // Its own metric beside the subscriber's, on one endpoint.
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const bytes = messages.reduce((n, m) => n + m.body.length, 0);
      expect(text).to.contain(`\ncustom_archiver_bytes_written_total ${bytes}\n`);
      expect(text).to.match(/\nmq_archive_subscriber_position_seq 20\n/);
    } finally {
      // Gone before the temp directory is removed: a closing archiver still writes its state there.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        await exited;
      }
    }
  });
});
