// The intake: reorder buffer, credit window, PUB pause rule and the records
// handed to the deliverer, driven by hand. No sockets, no clock.

import { expect } from "chai";
import type { IntakeAction } from "../../lib/subscriber/actions.js";
import { newCounters } from "../../lib/subscriber/counters.js";
import { Intake, type IntakeLimits } from "../../lib/subscriber/intake.js";
import { OUTBOX, data } from "./session-fixtures.js";

function intake(limits: Partial<IntakeLimits> = {}) {
  const counters = newCounters();
  const i = new Intake(0, { creditBytes: 800, maxEntries: 100, maxBytes: 100_000, ...limits }, counters);
  return { i, counters };
}

const seqs = (out: IntakeAction[]): number[] =>
  out.flatMap((a) => (a.type === "deliver" ? a.entries.map((e) => (e.type === "record" ? e.record.seq : e.seq)) : []));

describe("Intake", () => {
  it("hands the chain over in order and frees each record's memory when the deliverer reports it stored", () => {
    const { i } = intake();
    i.restart();
    const out: IntakeAction[] = [];
    expect(i.records([data(2, 1, 50), data(3, 2, 50)], "router", OUTBOX, out), "held for the gap").to.equal(false);
    expect(i.pass(1, 0, "router", out)).to.equal(true);
    expect(seqs(out)).to.deep.equal([1, 2, 3]);
    expect(i.bytesHeld.router).to.equal(100);
    i.stored(2, out);
    expect(i.bytesHeld.router, "the pass and record 2").to.equal(50);
    expect(i.creditDue, "50 bytes back: under an eighth of 800").to.equal(false);
    i.stored(1, out);
    expect(i.creditDue).to.equal(true);
    expect(i.takeGrant()).to.deep.include({ bytes: 100 });
  });

  it("returns no credit for records of an epoch before the last hello or fetch", () => {
    const { i } = intake();
    i.restart();
    const out: IntakeAction[] = [];
    i.records([data(1, 0, 300)], "router", OUTBOX, out);
    expect(i.restart(), "a fetch grants what is free").to.equal(500);
    i.stored(1, out);
    expect([i.creditDue, i.takeGrant(), i.bytesHeld.router]).to.deep.equal([false, null, 0]);
  });

  it("counts duplicates and drops, and pauses PUB for a PUB record that does not fit", () => {
    const { i, counters } = intake({ maxEntries: 2 });
    const out: IntakeAction[] = [];
    i.records([data(5, 4), data(6, 5), data(7, 6)], "pub", OUTBOX, out);
    expect([counters.dropped, counters.pubPauses]).to.deep.equal([1, 1]);
    expect(out).to.deep.equal([{ type: "pausePub", first: true, seq: 7, position: 0, bytesHeld: 300 }]);
    expect(i.pubPaused).to.equal(true);
    i.records([data(6, 5)], "router", OUTBOX, out);
    expect(counters.duplicates).to.equal(1);
    out.length = 0;
    i.records([data(1, 0), data(2), data(3), data(4)], "router", OUTBOX, out);
    expect(seqs(out)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(i.pubPaused, "PUB was at 7").to.equal(true);
    i.records([data(7)], "router", OUTBOX, out);
    expect(out.filter((a) => a.type === "resumePub")).to.deep.equal([{ type: "resumePub", caughtUp: true, position: 7 }]);
  });

  it("copies held bodies out of a batch whose chain was split by a drop", () => {
    const { i } = intake({ maxEntries: 1 });
    const part = Buffer.alloc(300, 1);
    const frames = [data(2, 1), data(3, 2), data(4, 3)].map((f, k) => ({ ...f, body: part.subarray(k * 100, k * 100 + 100) }));
    i.records(frames, "router", OUTBOX, []);
    expect(frames.map((f) => f.body.buffer === part.buffer), "the frames keep their views").to.deep.equal([true, true, true]);
    const out: IntakeAction[] = [];
    i.pass(1, 0, "router", out);
    const bodies = out.flatMap((a) => (a.type === "deliver" ? a.entries : [])).flatMap((e) => (e.type === "record" ? [e.record.body] : []));
    expect(bodies.map((b) => b.buffer === part.buffer), "record 2 was held alone, as a copy").to.deep.equal([false]);
  });

  it("starts over at a new position, letting go of what it held", () => {
    const { i } = intake();
    i.restart();
    const out: IntakeAction[] = [];
    i.records([data(9, 8, 100)], "router", OUTBOX, out);
    i.reset(0, out);
    expect([i.position, i.bytesHeld.router]).to.deep.equal([0, 0]);
    expect(i.takeGrant()?.bytes, "its credit returns").to.equal(100);
  });
});
