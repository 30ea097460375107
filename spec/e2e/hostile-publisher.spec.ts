// Issue 12, finding 9: what a publisher says is not trusted blindly. A
// "publisher" here is a bare ROUTER socket of the test speaking the wire
// protocol, so it can send what a real serve never would.

import { expect } from "chai";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as zmq from "zeromq";
import { SubscriberState } from "../../lib/store/state.js";
import { decode, encode } from "../../lib/wire/codec.js";
import { Daemon } from "../helpers/cli.js";
import { makeMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

/** Answer every hello with a welcome naming `outbox`, then one record. */
async function serveWelcomes(router: zmq.Router, outbox: string): Promise<void> {
  const m = makeMessage("dev", 1);
  try {
    for await (const [routingId, ...parts] of router) {
      if (decode(parts).type !== "hello") continue;
      await router.send([routingId!, ...encode({ type: "welcome", outbox, head: 1, first: 1, from: 0, mode: "router", pub: null, heartbeat: 1000 })]);
      await router.send([
        routingId!,
        ...encode({ type: "data", seq: 1, prev: 0, kind: "message", list: "dev", messageId: m.messageId, receivedAt: Date.now(), body: m.body }),
      ]);
    }
  } catch {
    /* the socket was closed */
  }
}

describe("e2e: a hostile publisher", function () {
  this.timeout(60_000);

  // Regression test (issue 12, finding 9): the welcome's outbox id was adopted as given and used in maildir file names.
  it("is refused, naming the reason, when its welcome gives an outbox id that is not one; nothing is adopted or stored", async () => {
    const dir = tempDir("mqa-hostile-pub-");
    const router = new zmq.Router({ linger: 0 });
    await router.bind("tcp://127.0.0.1:*");
    const serving = serveWelcomes(router, "../../../escaped");
    try {
      const state = join(dir, "sub.db");
      const maildir = join(dir, "archive", "maildir");
      const sub = Daemon.start(["subscribe", "--insecure", "--connect", router.lastEndpoint!, "--state", state, "--sink", `maildir:${maildir}`]);
      await waitFor(() => !sub.alive, { timeoutMs: 20_000, what: "the subscriber to stop" });
      expect((await sub.waitExit()).code).to.equal(70);
      expect(sub.stderrText.join("\n")).to.include("not an outbox id").and.to.include("../../../escaped");

      const s = SubscriberState.open(state, { create: false });
      try {
        expect(s.outboxId, "no outbox adopted").to.equal(null);
        expect(s.position).to.equal(0);
      } finally {
        await s.close();
      }
      const stored = ["new", "cur", "tmp"].flatMap((d) => (existsSync(join(maildir, "dev", d)) ? readdirSync(join(maildir, "dev", d)) : []));
      expect(stored).to.deep.equal([]);
    } finally {
      router.close();
      await serving;
    }
  });
});
