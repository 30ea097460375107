// Issue point 9: garbage and truncated frames sent to the publisher get
// clear errors; the daemon keeps running and nothing is lost. (Malformed
// input to `publish` is covered in spec/cli/publish.spec.ts.)

import { expect } from "chai";
import { Packr } from "msgpackr";
import * as zmq from "zeromq";
import { makeProof } from "../../lib/security/proof.js";
import { encode } from "../../lib/wire/codec.js";
import { PROTOCOL_VERSION } from "../../lib/wire/frames.js";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive } from "../helpers/messages.js";

const packr = new Packr({ useRecords: false });

async function exchange(dealer: zmq.Dealer, parts: Buffer[]): Promise<Record<string, unknown>> {
  await dealer.send(parts);
  const [reply] = await dealer.receive();
  return packr.unpack(reply!) as Record<string, unknown>;
}

describe("e2e: hostile input to the publisher", function () {
  this.timeout(60_000);

  it("answers garbage, truncated, wrong-version and out-of-session frames with errors and keeps serving", async () => {
    const mesh = await Mesh.create();
    const serve = await mesh.serve();
    const first = Array.from({ length: 100 }, (_, i) => makeMessage("dev", i));
    mesh.publish(first);

    const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: 5000 });
    dealer.connect(mesh.endpoint);
    try {
      const hello = encode({
        type: "hello", peer: "p", name: "p", from: 0, outbox: null, lists: null, credit: 1000, proof: new Uint8Array(),
      })[0]!;
      const cases: Array<[string, Buffer[], string]> = [
        ["random bytes", [Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x13])], "BAD_FRAME"],
        ["truncated hello", [hello.subarray(0, hello.length - 7)], "BAD_FRAME"],
        ["empty part", [Buffer.alloc(0)], "BAD_FRAME"],
        ["wrong version", [packr.pack({ v: 99, t: "hello" })], "BAD_VERSION"],
        ["unknown type", [packr.pack({ v: PROTOCOL_VERSION, t: "launch" })], "UNKNOWN_TYPE"],
        ["the previous protocol version", [packr.pack({ v: 1, t: "hello" })], "BAD_VERSION"],
        ["ack before hello", encode({ type: "ack", seq: 5 }), "NO_SESSION"],
        ["hello with extra parts", [hello, Buffer.from("x")], "BAD_FRAME"],
      ];
      for (const [what, parts, code] of cases) {
        const reply = await exchange(dealer, parts);
        expect(reply, what).to.include({ t: "err", code });
        expect(String(reply.msg), what).to.not.equal("");
      }
      // A peer with a session that sends a publisher-only frame is told so, and keeps its session.
      const welcome = await exchange(dealer, [hello]);
      expect(welcome.t).to.equal("welcome");
      const data = encode({ type: "data", seq: 9, prev: 8, kind: "message", list: "x", messageId: "<m>", receivedAt: 1, body: Buffer.from("x") });
      await dealer.send(data);
      let reply: Record<string, unknown>;
      do [reply] = [packr.unpack((await dealer.receive())[0]!) as Record<string, unknown>];
      while (reply.t === "data" || reply.t === "hb");
      expect(reply).to.include({ t: "err", code: "UNKNOWN_TYPE" });
    } finally {
      dealer.close();
    }

    // Still serving: a real subscriber gets everything, including what is published now.
    expect(serve.alive).to.equal(true);
    mesh.subscribe("sub.db", [`maildir:${mesh.path("maildir")}`], ["--name", "s"]);
    const later = Array.from({ length: 100 }, (_, i) => makeMessage("dev", 100 + i));
    mesh.publish(later);
    await mesh.waitAcked(["s"], 200);
    const got = readMaildirArchive(mesh.path("maildir"), "dev").map((f) => f.body);
    expect(compareArchive([...first, ...later], got)).to.deep.equal({ missing: [], duplicated: [], unexpected: 0, outOfOrder: false });
    expect(serve.logs.filter((l) => l.msg === "rejected a malformed frame").length).to.be.at.least(1);
  });

  it("drops a peer that sends an oversized message, and no one else", async () => {
    const mesh = await Mesh.create();
    const serve = await mesh.serve();
    const flooder = new zmq.Dealer({ linger: 0 });
    flooder.connect(mesh.endpoint);
    const disconnected = new Promise<void>((resolve) => flooder.events.on("disconnect", () => resolve()));
    try {
      await flooder.send(Buffer.alloc(4 * 1024 * 1024, 0x41));
      await disconnected;
    } finally {
      flooder.close();
    }
    mesh.subscribe("sub.db", [`maildir:${mesh.path("maildir")}`], ["--name", "s"]);
    mesh.publish([makeMessage("dev", 1)]);
    await mesh.waitAcked(["s"], 1);
    expect(serve.alive).to.equal(true);
  });

  it("an authenticated peer flooding hellos and garbage neither disturbs another peer nor grows the publisher without bound", async () => {
    const mesh = await Mesh.create();
    const publisher = mesh.makeKey("publisher");
    const good = mesh.makeKey("good");
    const flooder = mesh.makeKey("flooder");
    mesh.writePeers([`${good.publicKey} name=good`, `${flooder.publicKey} name=flooder`]);
    const serve = await mesh.serveSecure(["--log-level", "info"]);
    mesh.subscribeSecure("good.db", [`maildir:${mesh.path("good")}`], "good");
    const baseline = serve.rss();
    const socket = new zmq.Dealer({
      linger: 0,
      receiveHighWaterMark: 10,
      curvePublicKey: flooder.publicKey,
      curveSecretKey: flooder.secretKey,
      curveServerKey: publisher.publicKey,
    });
    socket.connect(mesh.endpoint);
    const frame = { type: "hello" as const, peer: flooder.publicKey, name: "f", from: 0, outbox: null, lists: null, credit: Number.MAX_SAFE_INTEGER };
    await socket.send(encode({ ...frame, proof: new Uint8Array(0) }));
    const nonce = (packr.unpack((await socket.receive())[0]!) as { nonce: Uint8Array }).nonce;
    const hello = encode({ ...frame, proof: makeProof(flooder, publisher.publicKey, nonce) });
    let peak = baseline;
    try {
      const messages = Array.from({ length: 1000 }, (_, i) => makeMessage("dev", i, 4096));
      for (let i = 0; i < 20_000; i++) {
        // It never reads: replies and data pile up on its side until the publisher stops sending.
        await socket.send(i % 2 ? hello : [Buffer.from(`garbage ${i}`)]);
        if (i % 20 === 0) mesh.publish([messages[i / 20]!]);
        if (i % 1000 === 0) peak = Math.max(peak, serve.rss());
      }
      await mesh.waitAcked(["good"], mesh.head());
      peak = Math.max(peak, serve.rss());
      const got = readMaildirArchive(mesh.path("good"), "dev").map((f) => f.body);
      expect(compareArchive(messages, got)).to.deep.equal({ missing: [], duplicated: [], unexpected: 0, outOfOrder: false });
    } finally {
      socket.close();
    }
    expect(serve.alive).to.equal(true);
    expect(peak - baseline, `publisher RSS grew by ${Math.round((peak - baseline) / 2 ** 20)} MiB`).to.be.below(100 * 2 ** 20);
  });
});
