// The outbox id a publisher announces must be an outbox id before a
// subscriber uses it in file names.

import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { OutboxReplacedError, ProtocolError } from "../../lib/errors.js";
import { Outbox } from "../../lib/store/outbox.js";
import { isOutboxId, malformedOutboxError, welcomeRefusal } from "../../lib/subscriber/outbox-identity.js";
import { tempDir } from "../helpers/tmp.js";

describe("outbox ids", () => {
  it("accepts the id a real outbox was created with", () => {
    const outbox = Outbox.open(join(tempDir(), "outbox.db"));
    try {
      expect(isOutboxId(outbox.id), outbox.id).to.equal(true);
      expect(malformedOutboxError(outbox.id)).to.equal(null);
    } finally {
      outbox.close();
    }
    for (let i = 0; i < 100; i++) expect(isOutboxId(randomUUID())).to.equal(true);
  });

  // Regression test (issue 12, finding 9): the welcome's outbox string went into file names unchecked.
  it("refuses anything else with a protocol error that shows the id safely", () => {
    const bad = [
      "",
      "ob",
      "../../../tmp/x",
      "5f0c2a9e/1b7d-4c3e-9a51-0d2e6f7a8b90",
      "5f0c2a9e-1b7d-4c3e-9a51-0d2e6f7a8b90\n",
      "5f0c2a9e-1b7d-4c3e-9a51-0d2e6f7a8b9g",
      "x".repeat(10_000),
      "\x00\x1b[2J",
    ];
    for (const id of bad) {
      expect(isOutboxId(id), JSON.stringify(id)).to.equal(false);
      const err = malformedOutboxError(id);
      expect(err, JSON.stringify(id)).to.be.instanceOf(ProtocolError);
      expect(err!.code).to.equal("BAD_FRAME");
      expect(err!.message).to.include("not an outbox id").and.not.to.match(/[\x00-\x1f]/);
      expect(err!.message.length).to.be.below(400);
    }
  });

  it("lets a welcome open a session only for a well-formed id of the outbox followed, at or past our position", () => {
    const followed = { outbox: randomUUID(), position: 40 };
    expect(welcomeRefusal({ outbox: followed.outbox, head: 40 }, followed)).to.equal(null);
    expect(welcomeRefusal({ outbox: randomUUID(), head: 0 }, { outbox: null, position: 0 }), "a new peer follows any outbox").to.equal(null);
    expect(welcomeRefusal({ outbox: "../x", head: 40 }, followed)).to.be.instanceOf(ProtocolError);
    expect(welcomeRefusal({ outbox: "../x", head: 0 }, { outbox: null, position: 0 })).to.be.instanceOf(ProtocolError);
    const other = randomUUID();
    const replaced = welcomeRefusal({ outbox: other, head: 100 }, followed);
    expect(replaced).to.be.instanceOf(OutboxReplacedError);
    expect(replaced!.message).to.include(`--accept-outbox ${other}`);
    const behind = welcomeRefusal({ outbox: followed.outbox, head: 39 }, followed);
    expect(behind).to.be.instanceOf(OutboxReplacedError);
    expect(behind!.message).to.include("the publisher's head is 39");
  });
});
