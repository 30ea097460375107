// Issue points 4 and 5: a subscriber that was down catches up, then follows
// live; a new subscriber with empty state backfills the retained history.

import { expect } from "chai";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive } from "../helpers/messages.js";

const clean = { missing: [], duplicated: [], unexpected: 0, outOfOrder: false };

describe("e2e: catch-up and backfill", function () {
  this.timeout(120_000);

  it("a subscriber down while 2,000 messages are published catches up, then follows live", async () => {
    const mesh = await Mesh.create();
    await mesh.serve();
    const sink = `maildir:${mesh.path("maildir")}`;
    const first = Array.from({ length: 20 }, (_, i) => makeMessage("dev", i));
    const sub = mesh.subscribe("sub.db", [sink], ["--name", "s"]);
    mesh.publish(first);
    await mesh.waitAcked(["s"], mesh.head());
    await sub.stop();

    const backlog = Array.from({ length: 2000 }, (_, i) => makeMessage("dev", 20 + i, 4096));
    mesh.publish(backlog);
    expect(mesh.acked().get("s")).to.equal(20);

    const again = mesh.subscribe("sub.db", [sink], ["--name", "s"]);
    await mesh.waitAcked(["s"], mesh.head());
    const live = Array.from({ length: 100 }, (_, i) => makeMessage("dev", 2020 + i));
    for (const m of live) mesh.publish([m]);
    await mesh.waitAcked(["s"], mesh.head());
    const together = Array.from({ length: 300 }, (_, i) => makeMessage("dev", 2120 + i));
    mesh.publish(together, { together: true }); // one transaction: PUB carries it in batch frames
    await mesh.waitAcked(["s"], mesh.head());

    const all = [...first, ...backlog, ...live, ...together];
    expect(compareArchive(all, readMaildirArchive(mesh.path("maildir"), "dev").map((f) => f.body))).to.deep.equal(clean);
    // After the catch-up over ROUTER it followed PUB: live records arrived there.
    await again.stop();
    const stopped = await again.waitForLog("subscriber stopped");
    const counters = stopped.counters as { fromPub: number; fromRouter: number };
    expect(counters.fromRouter).to.be.at.least(2000);
    // Most of the 300 committed together came by PUB, in batch frames (PUB may drop some: repaired over ROUTER).
    expect(counters.fromPub).to.be.at.least(live.length + together.length / 2);
  });

  it("a new subscriber with empty state backfills the whole retained history", async () => {
    const mesh = await Mesh.create();
    const history = Array.from({ length: 1500 }, (_, i) => makeMessage(i % 2 ? "dev" : "users", i, 3000));
    mesh.publish(history);
    await mesh.serve();
    mesh.subscribe("fresh.db", [`maildir:${mesh.path("maildir")}`], ["--name", "fresh"]);
    await mesh.waitAcked(["fresh"], mesh.head());
    for (const list of ["dev", "users"]) {
      const expected = history.filter((m) => m.list === list);
      const got = readMaildirArchive(mesh.path("maildir"), list).map((f) => f.body);
      expect(compareArchive(expected, got), list).to.deep.equal(clean);
    }
  });
});
