import { expect } from "chai";
import { CreditWindow } from "../../lib/subscriber/credit.js";

describe("CreditWindow", () => {
  it("grants the free part of the window on each restart and returns credit as records leave memory", () => {
    const w = new CreditWindow(800);
    expect(w.restart()).to.equal(800);
    w.received(300);
    expect(w.bytesHeld).to.equal(300);
    expect(w.release({ source: "router", creditEpoch: w.epoch, bytes: 50 })).to.equal(false); // 50 < 800/8
    expect(w.release({ source: "router", creditEpoch: w.epoch, bytes: 60 })).to.equal(true);
    expect(w.take()).to.deep.equal({ bytes: 110, epoch: w.epoch });
    expect(w.take()).to.equal(null);
    expect(w.restart(), "what is still held is not granted again").to.equal(610);
  });

  it("returns no credit for records of an older epoch or from PUB, and never grants less than a quarter", () => {
    const w = new CreditWindow(800);
    w.restart();
    w.received(700);
    const old = w.epoch;
    expect(w.restart()).to.equal(200);
    expect(w.congested).to.equal(true);
    w.release({ source: "router", creditEpoch: old, bytes: 700 });
    expect(w.take()).to.equal(null);
    expect(w.bytesHeld).to.equal(0);
    w.received(500, "pub");
    w.release({ source: "pub", creditEpoch: w.epoch, bytes: 500 });
    expect(w.take()).to.equal(null);
  });

  it("counts PUB records in memory apart from the ROUTER ones", () => {
    const w = new CreditWindow(800);
    w.restart();
    w.received(300, "pub");
    w.received(100);
    expect([w.pubBytesHeld, w.bytesHeld]).to.deep.equal([300, 100]);
    expect(w.congested, "PUB records are not ROUTER credit").to.equal(false);
    w.release({ source: "pub", creditEpoch: w.epoch, bytes: 300 });
    expect([w.pubBytesHeld, w.bytesHeld]).to.deep.equal([0, 100]);
  });

  it("keeps unsent credit only within its epoch", () => {
    const w = new CreditWindow(80);
    w.restart();
    w.received(20);
    w.release({ source: "router", creditEpoch: w.epoch, bytes: 20 });
    const grant = w.take()!;
    w.unsent(grant);
    expect(w.take()).to.deep.equal(grant);
    w.unsent(grant);
    w.restart();
    w.unsent(grant);
    expect(w.take()).to.equal(null);
  });
});
