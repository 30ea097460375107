// verify over CURVE: the exchange obeys grants (a restricted peer learns
// nothing of other lists, not even their counts), uses the peer's own key
// as subscribe does, and a hostile admitted key flooding verify questions
// is answered BUSY while other keys are still answered.

import { expect } from "chai";
import { runCli, type Daemon } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage } from "../helpers/messages.js";
import { helloFrame, RawPeer } from "../helpers/raw-peer.js";
import { waitFor } from "../helpers/wait.js";
import { VerifyClient } from "../../lib/verify/client.js";
import { encode } from "../../lib/wire/codec.js";

describe("e2e: verify over CURVE", function () {
  this.timeout(60_000);
  let mesh: Mesh;
  let serve: Daemon;
  let keys: Record<"publisher" | "full" | "restricted", ReturnType<Mesh["makeKey"]>>;
  const clients: Array<{ close(): void }> = [];

  beforeEach(async () => {
    mesh = await Mesh.create();
    keys = { publisher: mesh.makeKey("publisher"), full: mesh.makeKey("full"), restricted: mesh.makeKey("restricted") };
    mesh.writePeers([`${keys.full.publicKey} name=full`, `${keys.restricted.publicKey} name=restricted lists=public-*`]);
    serve = await mesh.serveSecure(["--retain", "1h"]);
    mesh.publish(Array.from({ length: 30 }, (_, i) => makeMessage(i % 3 === 0 ? "public-a" : "secret", i, 300)));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await serve.stop();
  });

  function client(key: "full" | "restricted"): VerifyClient {
    const k = keys[key];
    const c = new VerifyClient({
      connect: mesh.endpoint, peer: k.publicKey, name: key, from: 0, outbox: null, lists: null,
      curve: { publicKey: k.publicKey, secretKey: k.secretKey, serverKey: keys.publisher.publicKey },
    });
    clients.push(c);
    return c;
  }

  it("a restricted peer is told only of its lists; another list answers exactly as one that never existed", async () => {
    const r = client("restricted");
    await r.open();
    expect((await r.lists()).lists).to.deep.equal(["public-a"]);
    const before = r.bytes.received;
    const secret = await r.sums([["secret", 1, 30]]);
    const mid = r.bytes.received;
    const none = await r.sums([["secreu", 1, 30]]);
    expect(secret).to.deep.equal(none).and.deep.equal({ sums: [[0, 0, 0]], split: false });
    expect(mid - before).to.equal(r.bytes.received - mid);
    expect(await r.entries("secret", 1, 30)).to.deep.equal({ entries: [], more: false });
    expect(await r.get([2, 3])).to.deep.equal({ records: [], missing: [2, 3] });
    expect((await r.sums([["public-a", 1, 30]])).sums[0]![0]).to.equal(10);

    const f = client("full");
    await f.open();
    expect((await f.lists()).lists).to.deep.equal(["public-a", "secret"]);
    expect((await f.sums([["secret", 1, 30]])).sums[0]![0]).to.equal(20);
  });

  it("`verify` with the peer's key and state, as subscribe connects: exit 0 when complete", async () => {
    const sub = mesh.subscribeSecure("r.db", [`maildir:${mesh.path("r")}`], "restricted", ["--name", "restricted"]);
    await mesh.waitAcked(["restricted"], 30);
    await sub.stop();
    const args = ["verify", "--connect", mesh.endpoint, "--state", mesh.path("r.db"), "--key", keys.restricted.keyFile, "--server-key", keys.publisher.pubFile];
    const r = await runCli([...args, "--sink", `maildir:${mesh.path("r")}`]);
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/: 1 lists compared up to seq 30/);
  });

  it("an unknown key is refused at once: exit 69 naming the refusal", async () => {
    const stranger = mesh.makeKey("stranger");
    const sub = mesh.subscribeSecure("r.db", [`maildir:${mesh.path("r")}`], "restricted", ["--name", "restricted"]);
    await mesh.waitAcked(["restricted"], 30);
    await sub.stop();
    const started = Date.now();
    const args = ["verify", "--connect", mesh.endpoint, "--state", mesh.path("r.db"), "--key", stranger.keyFile, "--server-key", keys.publisher.pubFile];
    const r = await runCli(args);
    expect(r.status).to.equal(69);
    expect(r.stderr).to.match(/refused/);
    expect(Date.now() - started).to.be.lessThan(20_000); // not the 30 s answer timeout
  });

  it("a key flooding verify questions is answered BUSY past its share; another key is still answered", async () => {
    const raw = new RawPeer(mesh.endpoint, keys.full, keys.publisher.publicKey);
    clients.push(raw);
    await raw.send(helloFrame(keys.full.publicKey, await raw.ownProof()));
    await waitFor(() => raw.headers().some((h) => h.t === "welcome"), { what: "welcome" });
    const question = encode({ type: "vsum", q: Array.from({ length: 256 }, () => ["secret", 1, 1_000_000] as [string, number, number]) });
    for (let i = 0; i < 3000; i++) await raw.send(question);
    await waitFor(() => raw.headers().some((h) => h.t === "err" && h.code === "BUSY"), { what: "a BUSY answer" });
    const r = client("restricted");
    await r.open();
    expect((await r.lists()).lists).to.deep.equal(["public-a"]);
    const answered = raw.headers().filter((h) => h.t === "vsums").length;
    expect(answered).to.be.lessThan(3000);
  });
});
