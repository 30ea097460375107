// Issue point 8: records every registered peer acknowledged are pruned after
// the retention window; a record any registered peer has not acknowledged is
// never pruned, even while it is stopped.

import { expect } from "chai";
import { Outbox } from "../../lib/store/outbox.js";
import type { Daemon } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage } from "../helpers/messages.js";
import { waitFor } from "../helpers/wait.js";

function outboxStats(mesh: Mesh): { first: number; count: number } {
  const outbox = Outbox.open(mesh.db, { create: false });
  try {
    return outbox.records.stats();
  } finally {
    outbox.close();
  }
}

/** Wait for a prune pass that started after now. */
async function nextPrunePass(serve: Daemon): Promise<void> {
  const seen = serve.logs.length;
  await serve.waitForLog((l) => serve.logs.indexOf(l) >= seen && /prune/.test(String(l.msg)));
}

describe("e2e: pruning", function () {
  this.timeout(60_000);

  it("prunes only what every registered peer acknowledged, after --retain", async () => {
    const mesh = await Mesh.create();
    const serve = await mesh.serve(["--retain", "0s"]);
    const a = mesh.subscribe("a.db", [`maildir:${mesh.path("a")}`], ["--name", "a"]);
    let b = mesh.subscribe("b.db", [`maildir:${mesh.path("b")}`], ["--name", "b"]);
    mesh.publish(Array.from({ length: 50 }, (_, i) => makeMessage("dev", i)));
    await mesh.waitAcked(["a", "b"], 50);
    await waitFor(() => outboxStats(mesh).count === 0, { what: "records both peers acked to be pruned" });

    await b.stop();
    mesh.publish(Array.from({ length: 50 }, (_, i) => makeMessage("dev", 50 + i)));
    await mesh.waitAcked(["a"], 100);
    await nextPrunePass(serve);
    await nextPrunePass(serve);
    expect(outboxStats(mesh), "b, stopped, has not acked 51..100").to.deep.include({ first: 51, count: 50 });

    b = mesh.subscribe("b.db", [`maildir:${mesh.path("b")}`], ["--name", "b"]);
    await mesh.waitAcked(["b"], 100);
    await waitFor(() => outboxStats(mesh).count === 0, { what: "records both peers acked to be pruned" });
    expect(a.alive).to.equal(true);
  });

  it("keeps acknowledged records for the retention window", async () => {
    const mesh = await Mesh.create();
    // A 30 s window, so a prune pass runs every 3 s: the records are acked, but young.
    const serve = await mesh.serve(["--retain", "30s"]);
    mesh.subscribe("a.db", [`maildir:${mesh.path("a")}`], ["--name", "a"]);
    mesh.publish(Array.from({ length: 20 }, (_, i) => makeMessage("dev", i)));
    await mesh.waitAcked(["a"], 20);
    await nextPrunePass(serve);
    expect(outboxStats(mesh).count).to.equal(20);
  });
});
