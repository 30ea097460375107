// Issue point 7: when the outbox is replaced (a new database at the same
// path), the subscriber says so and stops, neither skipping nor archiving
// again; --accept-outbox then follows the new one without duplicates.

import { expect } from "chai";
import { rmSync } from "node:fs";
import { Outbox } from "../../lib/store/outbox.js";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive } from "../helpers/messages.js";

describe("e2e: outbox replaced", function () {
  this.timeout(60_000);

  it("stops with a clear report, archives nothing from the new outbox, and follows it only when told", async () => {
    const mesh = await Mesh.create();
    let serve = await mesh.serve();
    const sink = `maildir:${mesh.path("maildir")}`;
    const old = Array.from({ length: 10 }, (_, i) => makeMessage("dev", i));
    const sub = mesh.subscribe("sub.db", [sink], ["--name", "s"]);
    mesh.publish(old);
    await mesh.waitAcked(["s"], 10);

    await serve.stop();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(mesh.db + suffix, { force: true });
    // The new outbox holds three of the old messages again and two new ones, at seqs 1..5.
    const again = [old[7]!, old[8]!, old[9]!];
    const fresh = [makeMessage("dev", 100), makeMessage("dev", 101)];
    mesh.publish([...again, ...fresh]);
    const newId = Outbox.open(mesh.db).id;
    serve = await mesh.serve();

    const exit = await sub.waitExit();
    expect(exit.code, "exit status EX_CONFIG").to.equal(78);
    const report = sub.stderrText.join("\n");
    expect(report).to.contain("outbox was replaced");
    expect(report).to.contain(`--accept-outbox ${newId}`);
    expect(compareArchive(old, readMaildirArchive(mesh.path("maildir"), "dev").map((f) => f.body)).missing).to.deep.equal([]);
    expect(readMaildirArchive(mesh.path("maildir"), "dev")).to.have.length(10);

    const wrong = mesh.subscribe("sub.db", [sink], ["--name", "s", "--accept-outbox", "not-the-new-one"]);
    expect((await wrong.waitExit()).code).to.equal(78);

    const follow = mesh.subscribe("sub.db", [sink], ["--name", "s", "--accept-outbox", newId]);
    await mesh.waitAcked(["s"], 5);
    const archive = readMaildirArchive(mesh.path("maildir"), "dev").map((f) => f.body);
    // (The new outbox's seqs restart at 1, so file-name order says nothing here.)
    expect(compareArchive([...old, ...fresh], archive)).to.deep.include({ missing: [], duplicated: [], unexpected: 0 });
    const skipped = follow.logs.filter((l) => l.msg === "already archived under this Message-ID; not archiving it again");
    expect(skipped).to.have.length(3);
  });
});
