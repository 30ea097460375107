// Issue 12, finding 4: a Message-ID with a NUL byte stalled every exec-sink
// archive for good. publish now derives a safe id for it (bytes kept), and
// a record that still carries one (an outbox filled before the fix) is a
// dead letter for the exec sink, not an endless retry.

import { expect } from "chai";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { runCli } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage, sha256, type TestMessage } from "../helpers/messages.js";

/** An exec archiver that keeps each message and its MQA_MESSAGE_ID under its seq, and logs the order. */
function archiver(mesh: Mesh): { sink: string; out: string } {
  const out = mesh.path("exec-out");
  mkdirSync(out);
  const script = mesh.path("archiver.sh");
  writeFileSync(
    script,
    [
      "#!/bin/sh",
      `printf '%s' "$MQA_MESSAGE_ID" > ${out}/$MQA_SEQ.id`,
      `cat > ${out}/$MQA_SEQ.eml && echo "$MQA_SEQ" >> ${out}/order.log`,
    ].join("\n"),
  );
  chmodSync(script, 0o755);
  return { sink: `exec:${script}`, out };
}

const withId = (list: string, id: string, n: number): TestMessage => ({
  list,
  messageId: id,
  body: Buffer.from(`From: a@example.org\nMessage-ID: ${id}\nSubject: message ${n}\n\nhello ${n}\n`, "latin1"),
});

const derived = (body: Buffer): string => `<${sha256(body)}@mq-archive.invalid>`;

describe("e2e: Message-IDs with control characters", function () {
  this.timeout(60_000);

  // Regression test (issue 12, finding 4): publish committed the NUL; the exec sink never ran for it and never moved past it.
  it("publish gives them derived ids; an exec-sink subscriber archives them and the messages after them", async () => {
    const mesh = await Mesh.create();
    await mesh.serve();
    const a = archiver(mesh);
    mesh.subscribe("sub.db", [a.sink], ["--name", "s"]);
    const messages = [
      makeMessage("dev", 1),
      withId("dev", "<evil\x00nul@example.org>", 2),
      withId("dev", "<evil\x1b[2J\x07\x7f@example.org>", 3),
      makeMessage("dev", 4),
      makeMessage("dev", 5),
    ];
    expect(await mesh.publishCli(messages), "each publish exits 0").to.deep.equal([1, 2, 3, 4, 5]);
    await mesh.waitAcked(["s"], 5, 30_000);

    expect(readFileSync(`${a.out}/order.log`, "utf8").trim().split("\n")).to.deep.equal(["1", "2", "3", "4", "5"]);
    const ids = messages.map((_, i) => readFileSync(`${a.out}/${i + 1}.id`, "latin1"));
    const [m1, m2, m3, m4, m5] = messages as [TestMessage, TestMessage, TestMessage, TestMessage, TestMessage];
    expect(ids, "MQA_MESSAGE_ID").to.deep.equal([m1.messageId, derived(m2.body), derived(m3.body), m4.messageId, m5.messageId]);
    messages.forEach((m, i) => expect(sha256(readFileSync(`${a.out}/${i + 1}.eml`)), `message ${i + 1}`).to.equal(sha256(m.body)));
    const dead = JSON.parse((await runCli(["dead-letters", "--state", mesh.path("sub.db"), "list", "--json"])).stdout);
    expect(dead).to.deep.equal([]);
  });

  // Regression test (issue 12, finding 4): a record already committed with a NUL in its Message-ID was retried as temporary forever.
  it("sets aside a record that already carries a NUL in its Message-ID, and goes on", async () => {
    const mesh = await Mesh.create();
    await mesh.serve();
    const a = archiver(mesh);
    const sub = mesh.subscribe("sub.db", [a.sink], ["--name", "s", "--exec-retries", "2"]);
    // Committed through the library, as publish did before the fix: the outbox holds the NUL as it is.
    mesh.publish([makeMessage("dev", 1), withId("dev", "<old\x00nul@example.org>", 2), makeMessage("dev", 3)]);
    await mesh.waitAcked(["s"], 3, 30_000);

    expect(readFileSync(`${a.out}/order.log`, "utf8").trim().split("\n")).to.deep.equal(["1", "3"]);
    const dead = JSON.parse((await runCli(["dead-letters", "--state", mesh.path("sub.db"), "list", "--json"])).stdout);
    expect(dead.map((d: { seq: number; attempts: number }) => [d.seq, d.attempts])).to.deep.equal([[2, 2]]);
    expect(dead[0].error).to.include("MQA_MESSAGE_ID").and.to.include("NUL");
    expect(sub.logs.filter((l) => l.msg === "permanent failure: set aside as a dead letter; the list goes on")).to.have.length(1);
  });
});
