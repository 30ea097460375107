// Issue 3: CURVE on every socket, keys as identities, per-list grants.
// Real CURVE sockets: the CLI daemons, plus hand-made clients that try what
// a hostile peer would.

import { expect } from "chai";
import { Packr } from "msgpackr";
import * as zmq from "zeromq";
import { makeProof } from "../../lib/security/proof.js";
import { encode } from "../../lib/wire/codec.js";
import { runCli } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive, type TestMessage } from "../helpers/messages.js";
import { helloFrame as hello, RawPeer } from "../helpers/raw-peer.js";
import { waitFor } from "../helpers/wait.js";

const packr = new Packr({ useRecords: false });
const clean = { missing: [], duplicated: [], unexpected: 0, outOfOrder: false };

function lists(n: number): TestMessage[] {
  const names = ["public-dev", "private-board", "public-users"];
  return Array.from({ length: n }, (_, i) => makeMessage(names[i % 3]!, i, 1500));
}

describe("e2e: security", function () {
  this.timeout(60_000);

  it("a restricted peer receives only its lists, live and replayed, and is kept off PUB", async () => {
    const mesh = await Mesh.create();
    const publisher = mesh.makeKey("publisher");
    const full = mesh.makeKey("full");
    const restricted = mesh.makeKey("restricted");
    mesh.writePeers([`${full.publicKey} name=full`, `${restricted.publicKey} name=restricted lists=public-*`]);
    const before = lists(30);
    mesh.publish(before);
    await mesh.serveSecure();
    mesh.subscribeSecure("full.db", [`maildir:${mesh.path("full")}`], "full");
    const restrictedSub = mesh.subscribeSecure("restricted.db", [`maildir:${mesh.path("restricted")}`], "restricted");
    const after = lists(60).slice(30);
    mesh.publish(after);
    await mesh.waitAcked(["full", "restricted"], mesh.head());

    const all = [...before, ...after];
    for (const list of ["public-dev", "private-board", "public-users"]) {
      const expected = all.filter((m) => m.list === list);
      expect(compareArchive(expected, readMaildirArchive(mesh.path("full"), list).map((f) => f.body)), list).to.deep.equal(clean);
      const got = readMaildirArchive(mesh.path("restricted"), list).map((f) => f.body);
      if (list.startsWith("public-")) expect(compareArchive(expected, got), list).to.deep.equal(clean);
      else expect(got, list).to.deep.equal([]);
    }

    // A crafted client with the restricted key asks for everything from seq 0, twice; in data frames, then in batches.
    await restrictedSub.stop(); // (one session per key: it would take over the raw client's)
    for (const batches of [false, true]) {
      const raw = new RawPeer(mesh.endpoint, restricted, publisher.publicKey);
      try {
        const publicCount = all.filter((m) => m.list.startsWith("public-")).length;
        await raw.send(hello(restricted.publicKey, await raw.ownProof(), 0, batches));
        await waitFor(() => raw.records().length >= publicCount, { what: "the first replay" });
        await raw.send(encode({ type: "fetch", from: 0, credit: 64 * 1024 * 1024 }));
        await waitFor(() => raw.records().length >= publicCount * 2, { what: "the second replay" });
        const welcome = raw.headers().find((h) => h.t === "welcome")!;
        expect(welcome).to.include({ mode: "router", pub: null });
        expect(raw.headers().some((h) => h.t === "batch"), "batch frames").to.equal(batches);
        for (const record of raw.records()) expect(record.list).to.match(/^public-/);
        for (const parts of raw.received) {
          for (const part of parts) expect(part.includes("private-board"), "a private list name or Message-ID").to.equal(false);
        }
      } finally {
        raw.close();
      }
    }

    // Its key may not even complete a handshake on PUB, which carries every list.
    const sub = new zmq.Subscriber({
      linger: 0,
      curvePublicKey: restricted.publicKey,
      curveSecretKey: restricted.secretKey,
      curveServerKey: publisher.publicKey,
    });
    try {
      const refused = new Promise((resolve) => sub.events.on("handshake:error:auth", resolve));
      sub.subscribe();
      sub.connect(`tcp://127.0.0.1:${mesh.port + 1}`);
      await refused;
    } finally {
      sub.close();
    }
  });

  it("refuses an unknown key at the handshake, logs it once, and counts it in status", async () => {
    const mesh = await Mesh.create();
    mesh.makeKey("publisher");
    const known = mesh.makeKey("known");
    const stranger = mesh.makeKey("stranger");
    mesh.writePeers([`${known.publicKey} name=known`]);
    const serve = await mesh.serveSecure();
    const sub = mesh.subscribeSecure("stranger.db", [`maildir:${mesh.path("stranger")}`], "stranger");
    mesh.publish(lists(5));
    await sub.waitForLog("the publisher refused our key: is it in the publisher's peers file?");
    await waitFor(
      async () => {
        const status = await runCli(["status", "--db", mesh.db, "--json"]);
        const refused = (JSON.parse(status.stdout) as { refused: Array<{ publicKey: string; count: number }> }).refused;
        return refused.length === 1 && refused[0]!.publicKey === stranger.publicKey && refused[0]!.count >= 2;
      },
      { what: "two refusals of the stranger's key in status", intervalMs: 200 },
    );
    expect(serve.logs.filter((l) => l.msg?.startsWith("refused an unknown key")).length).to.equal(1);
    expect(readMaildirArchive(mesh.path("stranger"), "public-dev")).to.deep.equal([]);
    const text = await runCli(["status", "--db", mesh.db]);
    expect(text.stdout).to.match(/refused \d+ handshakes from 1 unknown keys/);
    expect((await serve.stop()).code, "a secure serve exits cleanly on SIGTERM").to.equal(0);
  });

  it("a plaintext client gets nothing from a secure publisher, which serves the others", async () => {
    const mesh = await Mesh.create();
    mesh.makeKey("publisher");
    const known = mesh.makeKey("known");
    mesh.writePeers([`${known.publicKey} name=known`]);
    await mesh.serveSecure();
    const plain = mesh.subscribe("plain.db", [`maildir:${mesh.path("plain")}`], ["--name", "plain"]);
    mesh.subscribeSecure("known.db", [`maildir:${mesh.path("known")}`], "known");
    const messages = lists(12);
    mesh.publish(messages);
    await mesh.waitAcked(["known"], mesh.head());
    await plain.waitForLog((l) => /another security mechanism/.test(String(l.msg)));
    for (const list of ["public-dev", "private-board"]) expect(readMaildirArchive(mesh.path("plain"), list)).to.deep.equal([]);
    expect(mesh.acked().has("plain")).to.equal(false);
  });

  it("a peer with a valid key of its own cannot start a session, ack or resume as another peer", async () => {
    const mesh = await Mesh.create();
    const publisher = mesh.makeKey("publisher");
    const victim = mesh.makeKey("victim");
    const attacker = mesh.makeKey("attacker");
    mesh.writePeers([`${victim.publicKey} name=victim`, `${attacker.publicKey} name=attacker`]);
    mesh.publish(lists(20));
    await mesh.serveSecure();
    const victimSub = mesh.subscribeSecure("victim.db", [`maildir:${mesh.path("victim")}`], "victim");
    await mesh.waitAcked(["victim"], 20);
    await victimSub.stop();
    mesh.publish(lists(30).slice(20));
    const victimAcked = mesh.acked().get("victim");

    const raw = new RawPeer(mesh.endpoint, attacker, publisher.publicKey);
    try {
      const nonce = await raw.challenge();
      // Before any session, acks and fetches do nothing.
      await raw.send(encode({ type: "ack", seq: 30 }));
      await raw.send(encode({ type: "fetch", from: 0, credit: 1 << 20 }));
      // A hello naming the victim: with the attacker's own proof for this connection, with none, with a made-up one.
      await raw.send(hello(victim.publicKey, makeProof(attacker, publisher.publicKey, nonce)));
      await raw.send(hello(victim.publicKey, new Uint8Array()));
      await raw.send(hello(victim.publicKey, new Uint8Array(32).fill(7)));
      await raw.send(encode({ type: "ack", seq: 30 }));
      await waitFor(() => raw.headers().length >= 7, { what: "seven replies" });
      expect(raw.headers().map((h) => h.code ?? h.t)).to.deep.equal([
        "challenge", "NO_SESSION", "NO_SESSION", "challenge", "challenge", "challenge", "NO_SESSION",
      ]);
      expect(raw.headers().some((h) => h.t === "data" || h.t === "welcome")).to.equal(false);
    } finally {
      raw.close();
    }
    expect(mesh.acked().get("victim"), "the victim's position did not move").to.equal(victimAcked);
    // The victim resumes from its own position and gets the rest.
    mesh.subscribeSecure("victim.db", [`maildir:${mesh.path("victim")}`], "victim");
    await mesh.waitAcked(["victim"], 30);
  });

  it("a key removed from the peers file loses its session and its PUB feed at once", async () => {
    const mesh = await Mesh.create();
    const publisher = mesh.makeKey("publisher");
    const a = mesh.makeKey("a");
    const b = mesh.makeKey("b");
    mesh.writePeers([`${a.publicKey} name=a`, `${b.publicKey} name=b`]);
    const serve = await mesh.serveSecure();
    const subA = mesh.subscribeSecure("a.db", [`maildir:${mesh.path("a")}`], "a");
    mesh.subscribeSecure("b.db", [`maildir:${mesh.path("b")}`], "b");
    // A raw PUB follower with a's key, as a revoked peer's own SUB socket would be.
    const sub = new zmq.Subscriber({ linger: 0, curvePublicKey: a.publicKey, curveSecretKey: a.secretKey, curveServerKey: publisher.publicKey });
    const live: number[] = [];
    sub.subscribe();
    sub.connect(`tcp://127.0.0.1:${mesh.port + 1}`);
    void (async () => {
      try {
        for await (const [header] of sub) live.push((packr.unpack(header!) as { seq: number }).seq);
      } catch {
        /* closed */
      }
    })();
    try {
      // Publish until the raw follower's subscription is live (PUB drops what comes before).
      const first: TestMessage[] = [];
      await waitFor(
        () => {
          const m = makeMessage("dev", first.length);
          first.push(m);
          mesh.publish([m]);
          return live.length > 0;
        },
        { what: "the raw PUB follower to receive", intervalMs: 100 },
      );
      const n = first.length;
      await mesh.waitAcked(["a", "b"], n);

      mesh.writePeers([`${b.publicKey} name=b`]);
      await serve.waitForLog("peers reloaded");
      const exit = await subA.waitExit();
      expect(exit.code, "EX_NOPERM").to.equal(77);
      expect(subA.stderrText.join("\n")).to.contain("removed from the publisher's peers file");

      const second = Array.from({ length: 10 }, (_, i) => makeMessage("dev", n + i));
      for (const m of second) mesh.publish([m]);
      await mesh.waitAcked(["b"], n + 10);
      expect(readMaildirArchive(mesh.path("a"), "dev").map((f) => f.seq)).to.deep.equal(first.map((_, i) => i + 1));
      expect(readMaildirArchive(mesh.path("b"), "dev")).to.have.length(n + 10);
      expect(live.filter((seq) => seq > n), "PUB frames after the revocation").to.deep.equal([]);
      expect(mesh.acked().has("a"), "no longer registered, so it holds back no pruning").to.equal(false);
    } finally {
      sub.close();
    }
  });

  it("keygen writes a secret key file (0600) and a public key, never overwriting", async () => {
    const mesh = await Mesh.create();
    const out = mesh.path("host");
    const first = await runCli(["keygen", "--out", out]);
    expect(first.status).to.equal(0);
    expect(first.stdout.trim()).to.have.length(40);
    const { statSync, readFileSync } = await import("node:fs");
    expect(statSync(`${out}.key`).mode & 0o777).to.equal(0o600);
    expect(readFileSync(`${out}.pub`, "utf8").trim()).to.equal(first.stdout.trim());
    const again = await runCli(["keygen", "--out", out]);
    expect(again.status).to.equal(64);
    expect(again.stderr).to.contain("already exists");
    expect(readFileSync(`${out}.pub`, "utf8").trim()).to.equal(first.stdout.trim());
  });
});
