// Issue 4: full disks, on a small tmpfs. On the publisher's host `publish`
// fails with a clear status and leaves nothing half-written; on an archive
// host the peer pauses until there is room again, then resumes with nothing
// lost. Mounting needs privileges: without them the tests say so and skip.

import { expect } from "chai";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Outbox } from "../../lib/store/outbox.js";
import { runCli } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive } from "../helpers/messages.js";
import { fill, smallDisk, type SmallDisk } from "../helpers/small-disk.js";

describe("e2e: full disks", function () {
  this.timeout(60_000);
  let disk: SmallDisk | null = null;

  beforeEach(function () {
    const mounted = smallDisk("3m");
    if (typeof mounted === "string") {
      console.warn(`\n  !!! SKIPPING the full-disk tests: ${mounted}. They need root (or CAP_SYS_ADMIN) to mount a tmpfs.\n`);
      this.skip();
    }
    disk = mounted;
  });

  afterEach(() => {
    disk?.unmount();
    disk = null;
  });

  it("publish on a full disk exits 74 with a clear message and leaves the outbox whole", async () => {
    const db = join(disk!.dir, "outbox.db");
    const committed: string[] = [];
    let failure = null;
    for (let i = 0; i < 200 && failure === null; i++) {
      const m = makeMessage("dev", i, 200 * 1024);
      const r = await runCli(["publish", "--db", db, "--list", "dev"], { input: m.body });
      if (r.status === 0) committed.push(m.messageId);
      else failure = { ...r, messageId: m.messageId };
    }
    expect(failure, "the disk filled up").to.not.equal(null);
    expect(failure!.status).to.equal(74);
    expect(failure!.stderr).to.match(/disk full/);
    rmSync(join(disk!.dir, "outbox.db-shm"), { force: true }); // as after a reboot
    const outbox = Outbox.open(db, { create: false, readonly: true });
    try {
      expect(outbox.check()).to.equal(null);
      const ids = outbox.records.readAfter(0, { limit: 1000, maxBytes: 1e9 }).map((r) => r.messageId);
      expect(ids).to.deep.equal(committed);
    } finally {
      outbox.close();
    }
  });

  it("a subscriber on a full disk pauses, then resumes with nothing lost once there is room", async () => {
    const mesh = await Mesh.create();
    await mesh.serve();
    const filler = fill(disk!.dir, 400 * 1024);
    const state = join(disk!.dir, "sub.db");
    const sub = mesh.subscribe("unused", [`maildir:${join(disk!.dir, "maildir")}`], ["--name", "s", "--state", state, "--retry-max", "500ms"]);
    const messages = Array.from({ length: 60 }, (_, i) => makeMessage("dev", i, 20 * 1024));
    mesh.publish(messages);
    await sub.waitForLog((l) => /will retry/.test(String(l.msg)) && /space|full/i.test(JSON.stringify(l.err ?? "")));
    expect(mesh.acked().get("s") ?? 0).to.be.below(60);
    rmSync(filler);
    await mesh.waitAcked(["s"], 60);
    const got = readMaildirArchive(join(disk!.dir, "maildir"), "dev").map((f) => f.body);
    expect(compareArchive(messages, got)).to.deep.equal({ missing: [], duplicated: [], unexpected: 0, outOfOrder: false });
    expect(sub.alive).to.equal(true);
  });
});
