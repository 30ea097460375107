// verify's HyperKitty read-back looks a message up under the Message-ID as
// HyperKitty stores it (Python's header parser's reading): pythonReading
// must agree with HyperKitty's own get_message_id on ordinary and odd ids.

import { expect } from "chai";
import { pythonReading } from "../../lib/verify/readback-hyperkitty.js";
import { hyperkittyMissing, storedIds } from "../sinks/hyperkitty/server.js";
import { skipWhenMissing } from "../helpers/skip.js";

const IDS = [
  "<plain@example.org>",
  "<dev@lists.example.org.7@test.mq-archive>",
  "<a@b.1@c>",
  "<with+plus=and.dots@host.example>",
  "  <spaced@example.org>  ",
  "<a.b@[127.0.0.1]>",
  "<no-at-sign>",
];

describe("pythonReading (HyperKitty's stored Message-ID)", () => {
  it("reads each Message-ID as HyperKitty's get_message_id does", async function () {
    skipWhenMissing(this, "the HyperKitty read-back check", hyperkittyMissing());
    const bodies = IDS.map((id) => Buffer.from(`From: a@example.org\nMessage-ID: ${id}\nSubject: s\n\nbody\n`));
    const theirs = await storedIds(bodies);
    expect(bodies.map((b) => pythonReading(b))).to.deep.equal(theirs);
  });

  it("is null for a message without Message-ID", () => {
    expect(pythonReading(Buffer.from("From: a@example.org\nSubject: s\n\nbody\n"))).to.equal(null);
  });
});
