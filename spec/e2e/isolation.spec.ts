// Issue point 6: a subscriber that stops reading (SIGSTOP) slows neither the
// other subscribers nor the publisher, and the publisher's memory stays
// bounded while the stopped peer's backlog grows; after SIGCONT it catches up.

import { expect } from "chai";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive } from "../helpers/messages.js";
import { waitFor } from "../helpers/wait.js";

const clean = { missing: [], duplicated: [], unexpected: 0, outOfOrder: false };
const MB = 1024 * 1024;

describe("e2e: isolation", function () {
  this.timeout(180_000);

  it("a stopped subscriber neither blocks the others nor grows the publisher's memory, and catches up after SIGCONT", async () => {
    const mesh = await Mesh.create();
    const serve = await mesh.serve();
    const a = mesh.subscribe("a.db", [`maildir:${mesh.path("a")}`], ["--name", "a"]);
    const b = mesh.subscribe("b.db", [`maildir:${mesh.path("b")}`], ["--name", "b"]);
    const warmup = Array.from({ length: 50 }, (_, i) => makeMessage("dev", i));
    mesh.publish(warmup);
    await mesh.waitAcked(["a", "b"], mesh.head());
    const baseline = serve.rss();

    b.signal("SIGSTOP");
    const stoppedAt = mesh.acked().get("b")!;
    // 160 MiB of backlog for the stopped peer, twice the memory bound below (bodies under 64 KiB: they go on PUB too).
    const backlog = Array.from({ length: 2700 }, (_, i) => makeMessage("dev", 50 + i, 60 * 1024));
    let peak = baseline;
    const sample = setInterval(() => (peak = Math.max(peak, serve.rss())), 50);
    try {
      for (let i = 0; i < backlog.length; i += 50) {
        mesh.publish(backlog.slice(i, i + 50));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await mesh.waitAcked(["a"], mesh.head(), 120_000);
    } finally {
      clearInterval(sample);
    }
    expect(mesh.acked().get("b"), "the stopped peer acked nothing").to.equal(stoppedAt);
    expect(a.alive && serve.alive).to.equal(true);
    const growth = `publisher RSS grew from ${Math.round(baseline / MB)} MiB to ${Math.round(peak / MB)} MiB`;
    expect(peak - baseline, growth).to.be.below(80 * MB);

    b.signal("SIGCONT");
    await mesh.waitAcked(["b"], mesh.head(), 120_000);
    const all = [...warmup, ...backlog];
    for (const dir of ["a", "b"]) {
      expect(compareArchive(all, readMaildirArchive(mesh.path(dir), "dev").map((f) => f.body)), dir).to.deep.equal(clean);
    }
    await waitFor(() => serve.alive);
  });
});
