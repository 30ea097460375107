// Issue 12, finding 9: `--bind tcp://[::1]:PORT` passed the loopback check
// for --insecure and then failed to bind (libzmq takes IPv6 addresses only on
// sockets with its ipv6 option). Real serve and subscribe processes on ::1.

import { expect } from "chai";
import { Daemon } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive } from "../helpers/messages.js";

describe("e2e: IPv6 loopback", function () {
  this.timeout(60_000);

  // Regression test (issue 12, finding 9): serve exited with "No such device" instead of listening on ::1.
  it("serves --insecure on tcp://[::1] and a subscriber connecting there archives everything", async () => {
    const mesh = await Mesh.create();
    const endpoint = `tcp://[::1]:${mesh.port}`;
    const serve = Daemon.start(["serve", "--insecure", "--db", mesh.db, "--bind", endpoint, "--log-level", "debug"]);
    await serve.waitForLog("publisher listening");
    Daemon.start([
      "subscribe", "--insecure", "--connect", endpoint, "--state", mesh.path("sub.db"), "--name", "s",
      "--sink", `maildir:${mesh.path("maildir")}`, "--log-level", "debug",
    ]);
    const messages = Array.from({ length: 50 }, (_, i) => makeMessage("dev", i));
    mesh.publish(messages.slice(0, 25));
    await mesh.waitAcked(["s"], 25, 30_000);
    mesh.publish(messages.slice(25));
    await mesh.waitAcked(["s"], 50, 30_000);
    const got = readMaildirArchive(mesh.path("maildir"), "dev").map((f) => f.body);
    expect(compareArchive(messages, got)).to.deep.equal({ missing: [], duplicated: [], unexpected: 0, outOfOrder: false });
  });
});
