// Issue point 1: 1,000 messages in 3 lists reach the maildir and mbox sinks
// byte-identical, each exactly once, in per-list order; an exec sink sees
// them in per-list order too. Real serve and subscribe processes.

import { expect } from "chai";
import { readFileSync } from "node:fs";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive, readMboxArchive, type TestMessage } from "../helpers/messages.js";

const LISTS = ["dev", "users", "announce@lists.example.org"];

describe("e2e: delivery", function () {
  this.timeout(120_000);

  it("delivers 1,000 messages in 3 lists to maildir, mbox and exec, byte-identical, once each, in per-list order", async () => {
    const mesh = await Mesh.create();
    await mesh.serve();
    const order = mesh.path("order.log");
    mesh.subscribe("a.db", [
      `maildir:${mesh.path("maildir")}`,
      `mbox:${mesh.path("mbox")}`,
      `exec:echo "$MQA_LIST $MQA_SEQ" >> ${order}`,
    ], ["--name", "a"]);

    const messages: TestMessage[] = [];
    for (let i = 0; i < 1000; i++) messages.push(makeMessage(LISTS[i % 3]!, i, 2048 + (i % 7) * 1500));
    // Most through the library (as concurrent publish processes would), some through the CLI.
    const seqs = mesh.publish(messages.slice(0, 490));
    seqs.push(...(await mesh.publishCli(messages.slice(490, 500))));
    seqs.push(...mesh.publish(messages.slice(500)));
    expect(new Set(seqs).size).to.equal(1000);

    await mesh.waitAcked(["a"], mesh.head());

    for (const list of LISTS) {
      const expected = messages.filter((m) => m.list === list);
      const maildir = compareArchive(expected, readMaildirArchive(mesh.path("maildir"), list).map((f) => f.body));
      expect(maildir, `maildir ${list}`).to.deep.equal({ missing: [], duplicated: [], unexpected: 0, outOfOrder: false });
      const mbox = compareArchive(expected, await readMboxArchive(mesh.path("mbox"), list));
      expect(mbox, `mbox ${list}`).to.deep.equal({ missing: [], duplicated: [], unexpected: 0, outOfOrder: false });
    }

    const lines = readFileSync(order, "utf8").trim().split("\n").map((l) => l.split(" "));
    expect(lines).to.have.length(1000);
    for (const list of LISTS) {
      const got = lines.filter(([l]) => l === list).map(([, s]) => Number(s));
      const want = seqs.filter((_, i) => messages[i]!.list === list);
      expect(got, `exec order for ${list}`).to.deep.equal(want);
    }
  });
});
