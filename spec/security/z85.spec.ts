// Z85 (ZeroMQ RFC 32): the encoding of CURVE keys on the command line, in
// key files and in the peers file.

import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { z85Decode, z85Encode } from "../../lib/security/z85.js";

const RFC_BYTES = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);

describe("z85Encode / z85Decode", () => {
  it("encodes the RFC 32 test vector to HelloWorld and back", () => {
    expect(z85Encode(RFC_BYTES)).to.equal("HelloWorld");
    const decoded = z85Decode("HelloWorld");
    expect(decoded).to.not.equal(null);
    expect(Buffer.compare(decoded!, RFC_BYTES)).to.equal(0);
  });

  it("round-trips random 32-byte buffers as 40 characters", () => {
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(32);
      const text = z85Encode(bytes);
      expect(text).to.have.length(40);
      expect(z85Decode(text)?.equals(bytes), text).to.equal(true);
    }
  });

  it("round-trips the extreme group values", () => {
    expect(z85Encode(Buffer.alloc(4))).to.equal("00000");
    expect(z85Encode(Buffer.from([0xff, 0xff, 0xff, 0xff]))).to.equal("%nSc0");
    expect(z85Decode("%nSc0")?.equals(Buffer.from([0xff, 0xff, 0xff, 0xff]))).to.equal(true);
    expect(z85Decode("00000")?.equals(Buffer.alloc(4))).to.equal(true);
  });

  it("encodes a Uint8Array view into a larger buffer by its own bytes", () => {
    const backing = Buffer.concat([Buffer.from([1, 2, 3]), RFC_BYTES, Buffer.from([9])]);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 3, 8);
    expect(z85Encode(view)).to.equal("HelloWorld");
  });

  it("rejects data whose length is not a multiple of 4", () => {
    for (const n of [1, 2, 3, 5, 31, 33]) {
      expect(() => z85Encode(Buffer.alloc(n)), `length ${n}`).to.throw(/4-byte/);
    }
    expect(z85Encode(Buffer.alloc(0))).to.equal("");
  });

  it("returns null for a length that is not a multiple of 5", () => {
    expect(z85Decode("Hello")).to.not.equal(null);
    for (const text of ["Hell", "HelloW", "HelloWorl", "HelloWorld!", "x"]) {
      expect(z85Decode(text), JSON.stringify(text)).to.equal(null);
    }
  });

  it("returns null for characters outside the alphabet", () => {
    for (const text of ["Hello Worl", "Hell\"World", "HelloWor~d", "Hello,orld", "\\elloWorld", "HelloWorl\u00e9", "Hello\nWorl"]) {
      expect(text.length % 5, JSON.stringify(text)).to.equal(0);
      expect(z85Decode(text), JSON.stringify(text)).to.equal(null);
    }
  });

  it("returns null for a group whose value exceeds 2^32-1", () => {
    expect(z85Decode("#####")).to.equal(null);
    // 0xffffffff is "%nSc0"; one more overflows.
    expect(z85Decode("%nSc1")).to.equal(null);
    expect(z85Decode("HelloWorld#####")).to.equal(null);
  });
});
