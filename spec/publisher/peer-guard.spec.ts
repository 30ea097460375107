// What one connection and one key may cost serve: the guard's rates and
// bounds, with the clock given (no sockets, no sleeps).

import { expect } from "chai";
import { MAX_RETIRED_PER_KEY, PeerGuard } from "../../lib/publisher/peer-guard.js";

describe("PeerGuard", () => {
  it("lets a connection say hello 10 times at once, then 2 a second, answering BUSY at most once a second", () => {
    const guard = new PeerGuard();
    const verdicts = Array.from({ length: 14 }, () => guard.hello("c1", 1000));
    expect(verdicts.slice(0, 10)).to.deep.equal(Array(10).fill("ok"));
    expect(verdicts.slice(10)).to.deep.equal(["refuse", "drop", "drop", "drop"]);
    expect(guard.hello("c1", 1499)).to.equal("drop"); // under one token yet, BUSY already sent this second
    expect(guard.hello("c1", 2000)).to.equal("ok"); // two tokens a second
    expect(guard.hello("c1", 2000)).to.equal("ok");
    expect(guard.hello("c1", 2000)).to.equal("refuse");
    expect(guard.hello("c2", 2000), "another connection has its own budget").to.equal("ok");
  });

  it("lets a key start 5 sessions at once, then one every 2 s, whatever the connection", () => {
    const guard = new PeerGuard();
    const starts = Array.from({ length: 7 }, () => guard.sessionStart("key", 0));
    expect(starts).to.deep.equal([true, true, true, true, true, false, false]);
    expect(guard.sessionStart("key", 1999)).to.equal(false);
    expect(guard.sessionStart("key", 2000)).to.equal(true);
    expect(guard.sessionStart("other", 2000), "another key has its own budget").to.equal(true);
    // A flood of one every 200 ms for 20 s starts at most 5 + 10 sessions (the burst, then one per 2 s).
    const flood = new PeerGuard();
    let started = 0;
    for (let t = 0; t < 20_000; t += 200) if (flood.sessionStart("key", t)) started++;
    expect(started).to.be.within(14, 15);
  });

  it("stops reading a retired connection, counts it against its key until a probe finds it gone", () => {
    const guard = new PeerGuard();
    for (let i = 0; i < MAX_RETIRED_PER_KEY; i++) guard.retire("key", `c${i}`);
    expect(guard.retiredOf("key").size).to.equal(MAX_RETIRED_PER_KEY);
    expect(guard.isBanned("c0")).to.equal(true);
    expect(guard.probeList().sort()).to.deep.equal(["c0", "c1", "c2", "c3"]);
    guard.gone("c0");
    expect(guard.isBanned("c0")).to.equal(false);
    expect(guard.retiredOf("key").size).to.equal(MAX_RETIRED_PER_KEY - 1);
    for (const c of ["c1", "c2", "c3"]) guard.gone(c);
    expect(guard.retiredOf("key").size).to.equal(0);
    expect(guard.probeList()).to.deep.equal([]);
  });

  it("keeps its tables bounded however many connections a flood opens", () => {
    const guard = new PeerGuard();
    for (let i = 0; i < 50_000; i++) {
      guard.hello(`c${i}`, 0);
      guard.ban(`b${i}`);
    }
    expect(guard.isBanned("b49999")).to.equal(true);
    expect(guard.isBanned("b0"), "the oldest ban was forgotten").to.equal(false);
    expect(guard.hello("c0", 0), "a forgotten connection starts with a full budget").to.equal("ok");
  });
});
