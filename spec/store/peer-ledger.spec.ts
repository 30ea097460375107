// The outbox's peer ledger on real files: registrations, acknowledgements
// that never move back, the allowlist, refusals.

import { expect } from "chai";
import { join } from "node:path";
import { Outbox } from "../../lib/store/outbox.js";
import { MAX_REFUSAL_ROWS, type PeerLedger } from "../../lib/store/peer-ledger.js";
import { tempDir } from "../helpers/tmp.js";

describe("PeerLedger", () => {
  let outbox: Outbox;
  let peers: PeerLedger;

  beforeEach(() => {
    outbox = Outbox.open(join(tempDir(), "outbox.db"));
    peers = outbox.peers;
  });

  afterEach(() => outbox.close());

  it("registers peers and records their acknowledgements, liveness and dead letters in one write", () => {
    peers.write(
      [
        { id: "k2", name: "beta", lists: ["dev", "ops"], acked: 0, at: 1000 },
        { id: "k1", name: "alpha", lists: null, acked: 5, at: 2000 },
      ],
      [{ id: "k2", acked: 7, ackedAt: 3000, lastSeen: 3500, deadLetters: 2 }],
    );
    expect(peers.all()).to.deep.equal([
      { id: "k1", name: "alpha", lists: null, allowed: null, deadLetters: 0, acked: 5, ackedAt: null, registeredAt: 2000, lastSeen: 2000 },
      { id: "k2", name: "beta", lists: ["dev", "ops"], allowed: null, deadLetters: 2, acked: 7, ackedAt: 3000, registeredAt: 1000, lastSeen: 3500 },
    ]);
    expect([peers.ackedOf("k1"), peers.ackedOf("k2"), peers.ackedOf("nobody")]).to.deep.equal([5, 7, null]);
    expect(peers.minAcked()).to.equal(5);
    peers.write([], []); // nothing to write: no transaction
  });

  it("never moves a recorded acknowledgement back, and moves ackedAt only when it grows", () => {
    peers.write([{ id: "k1", name: "alpha", lists: null, acked: 5, at: 1000 }], []);
    // A new session below the recorded acknowledgement does not move it back (it would hold back pruning).
    peers.write([{ id: "k1", name: "alpha2", lists: ["x"], acked: 3, at: 4000 }], []);
    expect(peers.all()[0]).to.include({ name: "alpha2", acked: 5, registeredAt: 1000, lastSeen: 4000 });
    expect(peers.all()[0]!.lists).to.deep.equal(["x"]);
    peers.write([], [{ id: "k1", acked: 4, ackedAt: 4500, lastSeen: 4600 }]);
    expect(peers.all()[0]).to.include({ acked: 5, ackedAt: null, lastSeen: 4600, deadLetters: 0 });
    peers.write([], [{ id: "k1", acked: 9, ackedAt: 5000, lastSeen: 5100, deadLetters: 1 }]);
    peers.write([], [{ id: "k1", acked: 9, ackedAt: 6000, lastSeen: 6100 }]);
    expect(peers.all()[0]).to.include({ acked: 9, ackedAt: 5000, lastSeen: 6100, deadLetters: 1 });
    expect(peers.minAcked()).to.equal(9);
  });

  it("has no lowest acknowledgement while no peer is registered", () => {
    expect(peers.minAcked()).to.equal(null);
  });

  it("matches the allowlist: new keys at 0, names and allowed lists follow it, unlisted peers forgotten", () => {
    peers.write([{ id: "old", name: "gone", lists: null, acked: 50, at: 1000 }, { id: "k1", name: "alpha", lists: null, acked: 7, at: 1000 }], []);
    const forgotten = peers.syncAllowlist([{ id: "k1", name: "alpha-renamed", lists: ["dev*"] }, { id: "k2", name: "beta", lists: null }], 2000);
    expect(forgotten).to.deep.equal(["old"]);
    expect(peers.all().map((p) => [p.id, p.name, p.allowed, p.acked, p.registeredAt])).to.deep.equal([
      ["k1", "alpha-renamed", ["dev*"], 7, 1000],
      ["k2", "beta", null, 0, 2000],
    ]);
    expect(peers.minAcked()).to.equal(0);
    expect(peers.syncAllowlist([], 3000)).to.deep.equal(["k1", "k2"]);
    expect(peers.all()).to.deep.equal([]);
  });

  it("counts refusals per key, newest first, keeping only the most recently seen keys", () => {
    const refusal = (n: number, at: number) => ({ fingerprint: `fp${n}`, key: `key${n}`, address: `10.0.0.${n % 250}`, count: 1, at });
    peers.recordRefusals([refusal(1, 1000), refusal(2, 1001)]);
    peers.recordRefusals([{ ...refusal(1, 2000), count: 3, address: "10.9.9.9" }]);
    peers.recordRefusals([]);
    expect(peers.refusals()).to.deep.equal([
      { fingerprint: "fp1", key: "key1", address: "10.9.9.9", count: 4, firstSeen: 1000, lastSeen: 2000 },
      { fingerprint: "fp2", key: "key2", address: "10.0.0.2", count: 1, firstSeen: 1001, lastSeen: 1001 },
    ]);
    peers.recordRefusals(Array.from({ length: MAX_REFUSAL_ROWS }, (_, i) => refusal(i + 10, 3000 + i)));
    const kept = peers.refusals();
    expect(kept).to.have.length(MAX_REFUSAL_ROWS);
    expect(kept.filter((r) => r.fingerprint === "fp1" || r.fingerprint === "fp2"), "the oldest keys are trimmed").to.deep.equal([]);
    expect(kept[0]!.fingerprint).to.equal(`fp${MAX_REFUSAL_ROWS + 9}`);
  });
});
