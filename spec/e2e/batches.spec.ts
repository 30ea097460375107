// Batch frames are sent only to peers that asked for them: over ROUTER per
// session, on PUB only while every pub-mode peer accepts them. Raw sockets
// stand in for a peer that does not (a subscriber from before batches).

import { expect } from "chai";
import * as zmq from "zeromq";
import { decode, encode } from "../../lib/wire/codec.js";
import type { DataFrame, Frame, HelloFrame } from "../../lib/wire/frames.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage } from "../helpers/messages.js";
import { waitFor } from "../helpers/wait.js";

/** A raw insecure peer: DEALER for the session, SUB for what PUB carries. */
class RawPeer {
  readonly control: Frame[] = [];
  readonly live: Frame[] = [];
  private readonly dealer = new zmq.Dealer({ linger: 0 });
  private readonly sub = new zmq.Subscriber({ linger: 0 });

  constructor(private readonly mesh: Mesh) {
    this.dealer.connect(mesh.endpoint);
    void collect(this.dealer, this.control);
    void collect(this.sub, this.live);
  }

  /** Start a session from the head and follow PUB. */
  async hello(name: string, batches: boolean): Promise<void> {
    const hello: HelloFrame = { type: "hello", peer: name, name, from: this.mesh.head(), outbox: null, lists: null, credit: 1 << 26, proof: new Uint8Array() };
    await this.dealer.send(encode(batches ? { ...hello, batches } : hello));
    await waitFor(() => this.control.some((f) => f.type === "welcome"), { what: `${name}'s welcome` });
    const welcome = this.control.find((f) => f.type === "welcome");
    if (welcome?.type !== "welcome" || welcome.mode !== "pub") throw new Error("expected a pub-mode session");
    this.sub.subscribe();
    this.sub.connect(`tcp://127.0.0.1:${this.mesh.port + 1}`);
  }

  /** Whether PUB has brought this seq (or a later one). */
  has(seq: number): boolean {
    return this.records().some((r) => r.seq >= seq);
  }

  records(): DataFrame[] {
    return this.live.flatMap((f) => (f.type === "data" ? [f] : f.type === "batch" ? f.records : []));
  }

  async bye(): Promise<void> {
    await this.dealer.send(encode({ type: "bye" }));
  }

  close(): void {
    this.dealer.close();
    this.sub.close();
  }
}

async function collect(socket: zmq.Dealer | zmq.Subscriber, into: Frame[]): Promise<void> {
  try {
    for await (const parts of socket) into.push(decode(parts as Buffer[]));
  } catch {
    /* closed */
  }
}

describe("e2e: batch frames", function () {
  this.timeout(60_000);

  it("PUB carries records committed together in batches only while every pub-mode peer accepts them", async () => {
    const mesh = await Mesh.create();
    const serve = await mesh.serve();
    const old = new RawPeer(mesh);
    const batching = new RawPeer(mesh);
    const messages = (from: number): ReturnType<typeof makeMessage>[] => Array.from({ length: 200 }, (_, i) => makeMessage("dev", from + i, 2000));
    try {
      await old.hello("old", false);
      await batching.hello("new", true);
      // Publish one record at a time until both SUB subscriptions have reached PUB (it drops what comes before).
      let warmup = 0;
      let sent = 0;
      await waitFor(() => {
        if (sent > 0 && old.has(sent) && batching.has(sent)) return true;
        sent = mesh.publish([makeMessage("warmup", warmup++)])[0]!;
        return false;
      }, { what: "both peers on PUB", intervalMs: 50 });
      for (const peer of [old, batching]) peer.live.length = 0; // PUB is ordered: nothing older comes after
      const first = mesh.publish(messages(0), { together: true });
      await waitFor(() => old.records().length >= first.length && batching.records().length >= first.length, { what: "the first 200 on PUB" });
      for (const peer of [old, batching]) {
        expect(peer.live.every((f) => f.type === "data"), "data frames only").to.equal(true);
        expect(peer.records().map((r) => r.seq)).to.deep.equal(first);
      }

      await old.bye();
      await serve.waitForLog((l) => l.msg === "peer session ended: said goodbye" && l.peer === "old");
      const second = mesh.publish(messages(200), { together: true });
      await waitFor(() => batching.records().length >= first.length + second.length, { what: "the next 200 on PUB" });
      const batches = batching.live.filter((f) => f.type === "batch");
      expect(batches.length, "batch frames").to.be.greaterThan(0);
      expect(batching.records().map((r) => r.seq)).to.deep.equal([...first, ...second]);
      const chain = batching.records().slice(first.length);
      chain.forEach((r, i) => expect(r.prev).to.equal(i === 0 ? first.at(-1) : chain[i - 1]!.seq));
    } finally {
      old.close();
      batching.close();
    }
  });
});
