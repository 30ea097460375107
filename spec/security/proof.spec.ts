// The hello proof: only the holder of a peer's secret key (or the
// publisher's) can make the proof for that peer's key.

import { expect } from "chai";
import { generateKeyPair } from "../../lib/security/keys.js";
import { makeProof, verifyProof } from "../../lib/security/proof.js";
import { z85Encode } from "../../lib/security/z85.js";

describe("hello proof", () => {
  const publisher = generateKeyPair();
  const a = generateKeyPair();
  const b = generateKeyPair();

  it("made by a peer verifies at the publisher", () => {
    const proof = makeProof(a, publisher.publicKey);
    expect(proof.length).to.equal(32);
    expect(verifyProof(publisher, a.publicKey, proof)).to.equal(true);
    expect(verifyProof(publisher, a.publicKey, makeProof(a, publisher.publicKey))).to.equal(true);
  });

  it("verifies from a plain Uint8Array copy (as decoded off the wire)", () => {
    const proof = Uint8Array.from(makeProof(a, publisher.publicKey));
    expect(verifyProof(publisher, a.publicKey, proof)).to.equal(true);
  });

  it("made with another peer's key pair does not verify for this key (takeover)", () => {
    const proofB = makeProof(b, publisher.publicKey);
    expect(verifyProof(publisher, b.publicKey, proofB)).to.equal(true);
    expect(verifyProof(publisher, a.publicKey, proofB)).to.equal(false);
  });

  it("made with A's public key but B's secret key does not verify for A", () => {
    const forged = makeProof({ publicKey: a.publicKey, secretKey: b.secretKey }, publisher.publicKey);
    expect(verifyProof(publisher, a.publicKey, forged)).to.equal(false);
  });

  it("is false for a tampered proof, never throwing", () => {
    const proof = Buffer.from(makeProof(a, publisher.publicKey));
    for (const index of [0, 15, 31]) {
      const tampered = Buffer.from(proof);
      tampered[index] = tampered[index]! ^ 0x01;
      expect(verifyProof(publisher, a.publicKey, tampered), `byte ${index}`).to.equal(false);
    }
    expect(verifyProof(publisher, a.publicKey, proof.subarray(0, 31))).to.equal(false);
    expect(verifyProof(publisher, a.publicKey, Buffer.concat([proof, Buffer.from([0])]))).to.equal(false);
  });

  it("is false for an empty proof", () => {
    expect(verifyProof(publisher, a.publicKey, new Uint8Array(0))).to.equal(false);
  });

  it("is false for a proof made for another publisher key", () => {
    const other = generateKeyPair();
    const proof = makeProof(a, other.publicKey);
    expect(verifyProof(other, a.publicKey, proof)).to.equal(true);
    expect(verifyProof(publisher, a.publicKey, proof)).to.equal(false);
  });

  it("is false for a peer key that is not Z85, never throwing", () => {
    const proof = makeProof(a, publisher.publicKey);
    for (const key of ["", "garbage", a.publicKey.slice(0, 39), `${a.publicKey.slice(0, 39)}~`, "#".repeat(40)]) {
      expect(verifyProof(publisher, key, proof), JSON.stringify(key)).to.equal(false);
    }
  });

  it("is false for a low-order peer key (all zeros), never throwing", () => {
    const zero = z85Encode(Buffer.alloc(32));
    expect(verifyProof(publisher, zero, new Uint8Array(32))).to.equal(false);
    expect(verifyProof(publisher, zero, makeProof(a, publisher.publicKey))).to.equal(false);
  });
});
