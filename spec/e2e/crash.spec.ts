// Issue points 2 and 3: SIGKILL a subscriber, or the publisher, mid-stream
// and restart it: nothing lost, nothing duplicated, no torn mbox entry.

import { expect } from "chai";
import { publishInBackground } from "../helpers/background.js";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive, readMboxArchive, type TestMessage } from "../helpers/messages.js";
import { waitFor } from "../helpers/wait.js";

const LISTS = ["dev", "users"];

function messagesFor(n: number): TestMessage[] {
  return Array.from({ length: n }, (_, i) => makeMessage(LISTS[i % 2]!, i, 4096 + (i % 5) * 3000));
}

/** Wait for the peer to store more (or for everything to be stored), so a kill lands mid-stream when there is a stream. */
async function progressed(mesh: Mesh, before: number, publishedAll: () => boolean): Promise<void> {
  await waitFor(
    () => {
      const acked = mesh.acked().get("s") ?? 0;
      return acked > before + 50 || (publishedAll() && acked >= mesh.head());
    },
    { what: "progress before the kill", timeoutMs: 60_000 },
  );
}

async function expectArchivesExact(mesh: Mesh, messages: TestMessage[]): Promise<void> {
  const clean = { missing: [], duplicated: [], unexpected: 0, outOfOrder: false };
  for (const list of LISTS) {
    const expected = messages.filter((m) => m.list === list);
    const maildir = readMaildirArchive(mesh.path("maildir"), list).map((f) => f.body);
    expect(compareArchive(expected, maildir), `maildir ${list}`).to.deep.equal(clean);
    expect(compareArchive(expected, await readMboxArchive(mesh.path("mbox"), list)), `mbox ${list}`).to.deep.equal(clean);
  }
}

describe("e2e: crashes", function () {
  this.timeout(180_000);

  it("a subscriber killed with SIGKILL mid-stream and restarted loses and duplicates nothing", async () => {
    const mesh = await Mesh.create();
    await mesh.serve();
    const sinks = [`maildir:${mesh.path("maildir")}`, `mbox:${mesh.path("mbox")}`];
    const messages = messagesFor(2000);
    const publishing = publishInBackground(mesh, messages, 5, 10);
    let sub = mesh.subscribe("sub.db", sinks, ["--name", "s"]);
    for (let kill = 0; kill < 5; kill++) {
      await progressed(mesh, mesh.acked().get("s") ?? 0, () => publishing.committed() === messages.length);
      await sub.kill9();
      sub = mesh.subscribe("sub.db", sinks, ["--name", "s"]);
    }
    await publishing.done;
    await mesh.waitAcked(["s"], mesh.head());
    await expectArchivesExact(mesh, messages);
  });

  it("the publisher killed with SIGKILL mid-stream and restarted on the same outbox loses and duplicates nothing", async () => {
    const mesh = await Mesh.create();
    let serve = await mesh.serve();
    const sinks = [`maildir:${mesh.path("maildir")}`, `mbox:${mesh.path("mbox")}`];
    mesh.subscribe("sub.db", sinks, ["--name", "s"]);
    const messages = messagesFor(2000);
    const publishing = publishInBackground(mesh, messages, 5, 10);
    for (let kill = 0; kill < 4; kill++) {
      await progressed(mesh, mesh.acked().get("s") ?? 0, () => publishing.committed() === messages.length);
      await serve.kill9();
      serve = await mesh.serve();
    }
    await publishing.done;
    await mesh.waitAcked(["s"], mesh.head());
    await expectArchivesExact(mesh, messages);
  });
});
