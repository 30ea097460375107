// The sessions of verify runs: bounded per key and in all, a full table
// answers a key without one BUSY instead of ending another key's session,
// and idle ones end.

import { expect } from "chai";
import { listMatcher } from "../../lib/security/list-match.js";
import { VERIFY_SESSIONS, VERIFY_SESSIONS_PER_KEY, VerifySessions } from "../../lib/publisher/verify-sessions.js";

const conn = (n: number) => Buffer.from(n.toString(16).padStart(8, "0"), "hex");
const key = (n: number) => conn(n).toString("hex");

describe("VerifySessions", () => {
  it("keeps at most VERIFY_SESSIONS_PER_KEY per key, ending the key's oldest", () => {
    const v = new VerifySessions();
    for (let i = 0; i < VERIFY_SESSIONS_PER_KEY + 2; i++) v.start(conn(i), "peer-a", listMatcher(null), i);
    v.start(conn(100), "peer-b", listMatcher(null), 0);
    expect(v.size).to.equal(VERIFY_SESSIONS_PER_KEY + 1);
    expect(v.onConnection(key(0))).to.equal(undefined);
    expect(v.onConnection(key(VERIFY_SESSIONS_PER_KEY + 1))?.peerId).to.equal("peer-a");
    expect(v.onConnection(key(100))?.peerId).to.equal("peer-b");
  });

  it("when full, refuses a key without a session and never ends another key's", () => {
    const v = new VerifySessions();
    for (let i = 0; i < VERIFY_SESSIONS; i++) v.start(conn(i), `peer-${i}`, listMatcher(null), 0);
    expect(v.refusal("stranger")).to.match(/already answers/);
    expect(v.refusal("peer-7")).to.equal(null);
    v.start(conn(50_000), "peer-7", listMatcher(null), 1);
    expect(v.size).to.equal(VERIFY_SESSIONS);
    expect(v.onConnection(key(7)), "its own older one made room").to.equal(undefined);
    expect(v.onConnection(key(8))?.peerId).to.equal("peer-8");
  });

  it("ends sessions idle for a minute, and a peer's on request", () => {
    const v = new VerifySessions();
    v.start(conn(1), "a", listMatcher(null), 0);
    v.start(conn(2), "b", listMatcher(null), 0);
    v.heard(key(2), 50_000);
    expect(v.expire(70_000)).to.equal(1);
    expect(v.onConnection(key(1))).to.equal(undefined);
    expect(v.endPeer("b")).to.deep.equal([key(2)]);
    expect(v.size).to.equal(0);
  });
});
