// The pure ZAP decision: unknown keys are refused on every socket, keys
// limited to some lists are refused on PUB (which carries every list).

import { expect } from "chai";
import { fingerprint, generateKeyPair, keyBytes } from "../../lib/security/keys.js";
import { PeerAcl } from "../../lib/security/peers-file.js";
import { decideZap, type ZapRequest } from "../../lib/security/zap.js";

const everything = generateKeyPair().publicKey;
const star = generateKeyPair().publicKey;
const restricted = generateKeyPair().publicKey;
const stranger = generateKeyPair().publicKey;

const acl = new PeerAcl([
  { key: everything, name: "everything", lists: null },
  { key: star, name: "star", lists: ["*"] },
  { key: restricted, name: "restricted", lists: ["dev-*"] },
]);

function request(key: string, overrides: Partial<ZapRequest> = {}): ZapRequest {
  return { domain: "mq-archive.router.1", address: "127.0.0.1", mechanism: "CURVE", credentials: [keyBytes(key)!], ...overrides };
}

describe("decideZap", () => {
  it("accepts a listed key on router and on pub", () => {
    for (const key of [everything, star]) {
      expect(decideZap(acl, "router", request(key))).to.deep.equal({ ok: true, key });
      expect(decideZap(acl, "pub", request(key))).to.deep.equal({ ok: true, key });
    }
  });

  it("refuses an unknown key on both sockets, naming it", () => {
    for (const role of ["router", "pub"] as const) {
      const decision = decideZap(acl, role, request(stranger));
      expect(decision, role).to.deep.include({ ok: false, reason: "unknown-key", key: stranger });
      expect(decision).to.have.property("text").that.includes(fingerprint(stranger));
    }
  });

  it("refuses a restricted key on pub but accepts it on router", () => {
    expect(decideZap(acl, "router", request(restricted))).to.deep.equal({ ok: true, key: restricted });
    expect(decideZap(acl, "pub", request(restricted))).to.deep.include({ ok: false, reason: "pub-restricted", key: restricted });
  });

  it("refuses mechanisms other than CURVE", () => {
    for (const mechanism of ["NULL", "PLAIN", "curve", ""]) {
      for (const role of ["router", "pub"] as const) {
        const decision = decideZap(acl, role, request(everything, { mechanism }));
        expect(decision, `${mechanism} on ${role}`).to.deep.include({ ok: false, reason: "bad-request", key: null });
      }
    }
  });

  it("refuses credentials that are not one 32-byte key", () => {
    const bytes = keyBytes(everything)!;
    for (const credentials of [[], [bytes.subarray(0, 31)], [Buffer.concat([bytes, Buffer.from([0])])], [Buffer.alloc(0)]]) {
      const decision = decideZap(acl, "router", request(everything, { credentials }));
      expect(decision, `${credentials.map((c) => c.length).join(",")}`).to.deep.include({ ok: false, reason: "bad-request", key: null });
    }
  });

  it("refuses everyone with an empty allowlist", () => {
    const decision = decideZap(new PeerAcl([]), "router", request(everything));
    expect(decision).to.deep.include({ ok: false, reason: "unknown-key", key: everything });
  });
});
