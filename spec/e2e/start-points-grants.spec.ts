// Issue 17, start points under CURVE: a restricted peer's time start is
// resolved over the lists it may receive (its position says nothing of when
// other lists' records arrived), and a hostile hello's bad start point is a
// protocol error, not a crash. Real serve and subscribe processes.

import Database from "better-sqlite3";
import { expect } from "chai";
import { encode } from "../../lib/wire/codec.js";
import { runCli } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage, readMaildirArchive } from "../helpers/messages.js";
import { RawPeer } from "../helpers/raw-peer.js";
import { waitFor } from "../helpers/wait.js";

const before = Date.parse("2026-11-15T00:00:00Z");
const after = Date.parse("2026-12-02T00:00:00Z");

/** Set records' received_at (ms) by seq, on the test's own connection before serve runs. */
function stamp(db: string, times: readonly number[]): void {
  const conn = new Database(db);
  try {
    const update = conn.prepare("UPDATE records SET received_at = ? WHERE seq = ?");
    times.forEach((at, i) => update.run(at, i + 1));
  } finally {
    conn.close();
  }
}

describe("e2e: start points and grants", function () {
  this.timeout(60_000);

  it("a restricted peer's time start resolves over its own lists; a bad start from a hostile peer is BAD_FRAME and serve goes on", async () => {
    const mesh = await Mesh.create();
    const keys = { publisher: mesh.makeKey("publisher"), full: mesh.makeKey("full"), mirror: mesh.makeKey("mirror") };
    mesh.writePeers([`${keys.full.publicKey} name=full`, `${keys.mirror.publicKey} name=mirror lists=public-*`]);
    const lists = ["public-a", "secret", "secret", "public-a", "public-a"];
    mesh.publish(lists.map((list, i) => makeMessage(list, i + 1)));
    stamp(mesh.db, [before, after, after, after, after]);
    const serve = await mesh.serveSecure(["--heartbeat", "200ms"]);

    const raw = new RawPeer(mesh.endpoint, keys.mirror, keys.publisher.publicKey);
    const hostile = { type: "hello" as const, peer: keys.mirror.publicKey, name: "raw", from: 0, outbox: null, lists: null, credit: 1024, proof: new Uint8Array(0) };
    for (const start of ["seq:0", "time:not-a-date", "yesterday"]) await raw.send(encode({ ...hostile, start }));
    await waitFor(() => raw.headers().filter((h) => h.t === "err" && h.code === "BAD_FRAME" && /start/.test(String(h.msg))).length === 3, {
      what: "three BAD_FRAME answers naming the start field",
    });
    raw.close();

    const start = ["--start", "time:2026-12-01T00:00:00Z"];
    const mirror = mesh.subscribeSecure("mirror.db", [`maildir:${mesh.path("mirror")}`], "mirror", ["--name", "mirror", ...start]);
    const full = mesh.subscribeSecure("full.db", [`maildir:${mesh.path("full")}`], "full", ["--name", "full", ...start]);
    await mesh.waitAcked(["mirror", "full"], 5);
    expect(serve.alive).to.equal(true);
    // The full peer starts after seq 1 (seq 2 is the first record received since Dec 1);
    // the mirror after seq 3: the secret records' times are not for it to learn.
    expect(readMaildirArchive(mesh.path("full"), "secret").map((m) => m.seq)).to.deep.equal([2, 3]);
    expect(readMaildirArchive(mesh.path("full"), "public-a").map((m) => m.seq)).to.deep.equal([4, 5]);
    expect(readMaildirArchive(mesh.path("mirror"), "public-a").map((m) => m.seq)).to.deep.equal([4, 5]);
    expect(readMaildirArchive(mesh.path("mirror"), "secret")).to.deep.equal([]);
    await mirror.stop();
    await full.stop();
    for (const [name, position] of [["mirror", 3], ["full", 1]] as const) {
      const r = await runCli(["status", "--state", mesh.path(`${name}.db`), "--json"]);
      expect((JSON.parse(r.stdout) as { start: unknown }).start, name).to.deep.equal({ start: "time:2026-12-01T00:00:00.000Z", position });
    }
  });
});
