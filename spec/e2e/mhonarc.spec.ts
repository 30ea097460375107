// Issue 15: the mhonarc sink end to end, real processes (publish, serve,
// subscribe) and Debian's real mhonarc, checked through MHonArc's own
// database: each message archived once, in order; one it already had (an
// earlier import) not again; one without Message-ID under the id mhonarc
// invents; one it refuses and one it declines set aside as dead letters;
// list events passed by; a locked archive waited for.

import { expect } from "chai";
import { mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage, type TestMessage } from "../helpers/messages.js";
import { addDirectly, markedNoArchive, mhonarcId, mhonarcMissing, noMessageId, readArchive, refused, setUpArchive } from "../helpers/mhonarc.js";

/** Publish in order: plain messages through the library, one without Message-ID through `publish` (which derives its id). */
async function publishAll(mesh: Mesh, messages: readonly TestMessage[]): Promise<void> {
  for (const m of messages) {
    if (m.messageId === "") await mesh.publishCli([m]);
    else mesh.publish([m]);
  }
}

async function publishEvent(mesh: Mesh, list: string, id: string): Promise<void> {
  const r = await runCli(["publish", "--db", mesh.db, "--event"], { input: JSON.stringify({ type: "member-subscribed", list, id, address: "x@example.org" }) });
  expect(r.status, r.stderr).to.equal(0);
}

async function deadLetters(mesh: Mesh): Promise<Array<{ messageId: string; error: string; attempts: number }>> {
  return JSON.parse((await runCli(["dead-letters", "--state", mesh.path("sub.db"), "list", "--json"])).stdout);
}

const idsIn = (archive: string, list: string): string[] => readArchive(join(archive, list)).map((e) => e.id);

describe("e2e: the mhonarc sink with the real mhonarc", function () {
  this.timeout(180_000);
  before(function () {
    const missing = mhonarcMissing();
    if (missing) {
      console.warn(`\n  !!! SKIPPING the mhonarc e2e tests: ${missing}.\n`);
      this.skip();
    }
  });

  it("archives a few dozen messages once each, in order; dead-letters what mhonarc refuses or declines", async () => {
    const mesh = await Mesh.create();
    const archive = mesh.path("mhonarc");
    // The operator's archive for dev: a MIME filter that refuses one content type, CHECKNOARCHIVE on, and
    // one message imported earlier (dev 5), which comes through the mesh again.
    setUpArchive(join(archive, "dev"), { refuse: true, checkNoArchive: true });
    addDirectly(join(archive, "dev"), makeMessage("dev", 5, 600).body);
    await mesh.serve();
    mesh.subscribe("sub.db", [`mhonarc:${archive}`], ["--name", "s", "--exec-retries", "2", "--retry-max", "1s"]);

    const messages: TestMessage[] = [];
    for (let i = 0; i < 36; i++) {
      const list = i % 2 === 0 ? "dev" : "ops";
      const special: Record<number, TestMessage> = { 8: refused("dev", 8), 11: noMessageId("ops", 11), 12: markedNoArchive("dev", 12) };
      messages.push(special[i] ?? makeMessage(list, i, 600));
    }
    messages.push(makeMessage("dev", 5, 600)); // the earlier import's message, last
    await publishAll(mesh, messages.slice(0, 20));
    await publishEvent(mesh, "dev", "dev-event-1");
    await publishAll(mesh, messages.slice(20));
    await mesh.waitAcked(["s"], messages.length + 1, 120_000);

    const expected = (list: string): string[] =>
      messages.filter((m) => m.list === list && !/x-mqa-refuse|X-No-Archive/.test(m.body.toString("latin1"))).map((m) => mhonarcId(m.body));
    const dev = idsIn(archive, "dev");
    const ops = idsIn(archive, "ops");
    // dev 5 first: it was there before; its redelivery at the end added nothing.
    expect(dev).to.deep.equal(["dev.5@test.mq-archive", ...expected("dev").filter((id) => id !== "dev.5@test.mq-archive")]);
    expect(ops).to.deep.equal(expected("ops"));
    expect(ops, "the message without Message-ID, under the id mhonarc invents").to.include(mhonarcId(messages[11]!.body));
    expect(ops.find((id) => id.endsWith("@NO-ID-FOUND.mhonarc.org"))).to.match(/^[0-9a-f]{32}@/);
    expect(dev.length + ops.length, "each once").to.equal(new Set([...dev, ...ops]).size);
    expect(readArchive(join(archive, "ops")).every((e) => e.page.includes(e.subject)), "each page written").to.equal(true);

    const dead = await deadLetters(mesh);
    expect(dead.map((d) => [d.messageId, d.attempts])).to.deep.equal([
      ["<dev.8@test.mq-archive>", 2],
      ["<dev.12@test.mq-archive>", 2],
    ]);
    expect(dead[0]!.error).to.include("exit 255").and.to.include("refuses text/x-mqa-refuse");
    expect(dead[1]!.error).to.include("exited 0 without storing it");
  });

  it("waits for a locked archive (temporary), then goes on in order, nothing lost or stored twice", async () => {
    const mesh = await Mesh.create();
    const archive = mesh.path("mhonarc");
    await mesh.serve();
    const sub = mesh.subscribe("sub.db", [`mhonarc:${archive}`], ["--name", "s", "--exec-retries", "1", "--retry-max", "1s"]);
    const first = Array.from({ length: 6 }, (_, i) => makeMessage(i % 2 === 0 ? "dev" : "ops", i, 600));
    mesh.publish(first);
    await mesh.waitAcked(["s"], 6);

    const lock = join(archive, "dev", ".mhonarc.lck");
    mkdirSync(lock);
    const more = Array.from({ length: 12 }, (_, i) => makeMessage(i % 3 === 0 ? "ops" : "dev", 6 + i, 600));
    mesh.publish(more);
    // Retried, and retried again (the backoff grew): never given up on, never skipped.
    const retried = (l: Record<string, unknown>): boolean => l.msg === "temporary sink failure; will retry" && JSON.stringify(l).includes(".mhonarc.lck");
    await sub.waitForLog((l) => retried(l) && Number(l.retryInMs) >= 400, 90_000);
    expect(idsIn(archive, "dev"), "nothing added while locked").to.deep.equal(first.filter((m) => m.list === "dev").map((m) => mhonarcId(m.body)));
    rmdirSync(lock);
    await mesh.waitAcked(["s"], 18, 60_000);

    const all = [...first, ...more];
    for (const list of ["dev", "ops"]) {
      expect(idsIn(archive, list), list).to.deep.equal(all.filter((m) => m.list === list).map((m) => mhonarcId(m.body)));
    }
    expect(await deadLetters(mesh)).to.deep.equal([]);
  });
});
