// Which endpoint a subscriber with several uses (subscriber/failover.ts): pure.

import { expect } from "chai";
import { Failover } from "../../lib/subscriber/failover.js";

describe("failover between endpoints", () => {
  const o = { failoverMs: 1000, returnMs: 5000 };

  it("stays on its only endpoint whatever happens", () => {
    const f = new Failover(1, o, 0);
    expect(f.tick(60_000, false)).to.equal(null);
    expect(f.current).to.equal(0);
  });

  it("moves to the next endpoint after failoverMs without a session, in a ring", () => {
    const f = new Failover(3, o, 0);
    expect(f.tick(999, false)).to.equal(null);
    expect(f.tick(1000, false)).to.include({ index: 1 });
    expect(f.tick(1999, false), "the time counts again from the switch").to.equal(null);
    expect(f.tick(2000, false)).to.include({ index: 2 });
    expect(f.tick(3000, false)).to.include({ index: 0 });
  });

  it("a session resets the clock; on a later endpoint, returns to the first after returnMs", () => {
    const f = new Failover(2, o, 0);
    f.tick(1000, false); // to 1
    expect(f.tick(1500, true)).to.equal(null);
    expect(f.tick(2499, false), "last seen in session at 1500").to.equal(null);
    expect(f.tick(2600, true)).to.equal(null);
    expect(f.tick(5999, true)).to.equal(null);
    const back = f.tick(6000, true);
    expect(back).to.deep.equal({ index: 0, why: "back to the first endpoint" });
    expect(f.tick(6500, true), "on the first: stays").to.equal(null);
    expect(f.tick(60_000, true)).to.equal(null);
  });
});
