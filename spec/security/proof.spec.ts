// The hello proof: only the holder of a peer's secret key (or the
// publisher's) can make the proof for that peer's key, and a proof answers
// one waiting challenge only, once.

import { expect } from "chai";
import { generateKeyPair } from "../../lib/security/keys.js";
import { CHALLENGE_BYTES, Challenger, makeProof } from "../../lib/security/proof.js";
import { z85Encode } from "../../lib/security/z85.js";

describe("hello proof", () => {
  const publisher = generateKeyPair();
  const a = generateKeyPair();
  const b = generateKeyPair();
  const connection = Buffer.from([0, 0, 0, 0, 1]);
  const other = Buffer.from([0, 0, 0, 0, 2]);
  let challenger: Challenger;
  let challenge: Buffer;

  beforeEach(() => {
    challenger = new Challenger(publisher);
    challenge = challenger.challengeFor(connection);
  });

  it("made by a peer for its connection's challenge verifies at the publisher, once", () => {
    expect(challenge.length).to.equal(CHALLENGE_BYTES);
    const proof = makeProof(a, publisher.publicKey, challenge);
    expect(proof.length).to.equal(32);
    expect(challenger.verify(a.publicKey, connection, Uint8Array.from(proof))).to.equal(true); // as decoded off the wire
    // Spent: the same proof again (a replay, or a later connection that chose the same routing id) is refused.
    expect(challenger.verify(a.publicKey, connection, proof)).to.equal(false);
    expect(challenger.challengeFor(connection).equals(challenge), "a new challenge").to.equal(false);
  });

  it("stays the same for its connection until answered, and differs between connections", () => {
    expect(challenger.challengeFor(connection).equals(challenge)).to.equal(true);
    expect(challenger.challengeFor(other).equals(challenge)).to.equal(false);
    // A wrong proof does not spend it.
    expect(challenger.verify(a.publicKey, connection, new Uint8Array(32))).to.equal(false);
    expect(challenger.verify(a.publicKey, connection, makeProof(a, publisher.publicKey, challenge))).to.equal(true);
  });

  it("does not verify on another connection, nor at a restarted publisher", () => {
    const proof = makeProof(a, publisher.publicKey, challenge);
    challenger.challengeFor(other);
    expect(challenger.verify(a.publicKey, other, proof)).to.equal(false);
    const restarted = new Challenger(publisher);
    restarted.challengeFor(connection);
    expect(restarted.verify(a.publicKey, connection, proof)).to.equal(false);
  });

  it("made with another peer's key pair does not verify for this key (takeover)", () => {
    const proofB = makeProof(b, publisher.publicKey, challenge);
    expect(challenger.verify(a.publicKey, connection, proofB)).to.equal(false);
    expect(challenger.verify(b.publicKey, connection, proofB)).to.equal(true);
  });

  it("made with A's public key but B's secret key does not verify for A", () => {
    const forged = makeProof({ publicKey: a.publicKey, secretKey: b.secretKey }, publisher.publicKey, challenge);
    expect(challenger.verify(a.publicKey, connection, forged)).to.equal(false);
  });

  it("is false for a tampered, truncated, extended or empty proof, never throwing", () => {
    const proof = Buffer.from(makeProof(a, publisher.publicKey, challenge));
    for (const index of [0, 15, 31]) {
      const tampered = Buffer.from(proof);
      tampered[index] = tampered[index]! ^ 0x01;
      expect(challenger.verify(a.publicKey, connection, tampered), `byte ${index}`).to.equal(false);
    }
    expect(challenger.verify(a.publicKey, connection, proof.subarray(0, 31))).to.equal(false);
    expect(challenger.verify(a.publicKey, connection, Buffer.concat([proof, Buffer.from([0])]))).to.equal(false);
    expect(challenger.verify(a.publicKey, connection, new Uint8Array(0))).to.equal(false);
  });

  it("is false for a proof made for another publisher key", () => {
    const otherPublisher = generateKeyPair();
    const otherChallenger = new Challenger(otherPublisher);
    const proof = makeProof(a, otherPublisher.publicKey, otherChallenger.challengeFor(connection));
    expect(challenger.verify(a.publicKey, connection, proof)).to.equal(false);
    expect(otherChallenger.verify(a.publicKey, connection, proof)).to.equal(true);
  });

  it("is false for a peer key that is not Z85 or is of low order (all zeros), or with no challenge waiting, never throwing", () => {
    const proof = makeProof(a, publisher.publicKey, challenge);
    const zero = z85Encode(Buffer.alloc(32));
    for (const key of ["", "garbage", a.publicKey.slice(0, 39), `${a.publicKey.slice(0, 39)}~`, "#".repeat(40), zero]) {
      expect(challenger.verify(key, connection, proof), JSON.stringify(key)).to.equal(false);
    }
    expect(challenger.verify(zero, connection, new Uint8Array(32))).to.equal(false);
    expect(new Challenger(publisher).verify(a.publicKey, connection, proof), "nothing asked on this connection").to.equal(false);
  });
});
