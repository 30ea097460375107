// Secure sessions: a hello is granted only for a listed key with a valid
// proof of possession; the grant's identity, name and lists come from the
// allowlist, never from the peer.

import { expect } from "chai";
import type { AuthDecision, Authorizer, PeerGrant } from "../../lib/security/authorizer.js";
import { KeyAuthorizer } from "../../lib/security/key-authorizer.js";
import { generateKeyPair, type KeyPair } from "../../lib/security/keys.js";
import { PeerAcl } from "../../lib/security/peers-file.js";
import { makeProof } from "../../lib/security/proof.js";
import type { HelloFrame } from "../../lib/wire/frames.js";

const publisher = generateKeyPair();
const full = generateKeyPair();
const star = generateKeyPair();
const limited = generateKeyPair();
const stranger = generateKeyPair();

const acl = new PeerAcl([
  { key: full.publicKey, name: "archive-full", lists: null },
  { key: star.publicKey, name: "archive-star", lists: ["*"] },
  { key: limited.publicKey, name: "archive-limited", lists: ["dev-*", "users"] },
]);

const ROUTING_ID = Buffer.from([0, 1, 2, 3, 4]);

function hello(peer: string, proof: Uint8Array, name = "claimed-name"): HelloFrame {
  return { type: "hello", peer, name, from: 0, outbox: null, lists: null, credit: 1 << 20, proof };
}

function helloFrom(pair: KeyPair): HelloFrame {
  return hello(pair.publicKey, makeProof(pair, publisher.publicKey));
}

function granted(decision: AuthDecision): PeerGrant {
  if (!decision.ok) throw new Error(`expected a grant, got ${decision.code}: ${decision.message}`);
  return decision.grant;
}

function expectRefused(decision: AuthDecision): void {
  expect(decision.ok).to.equal(false);
  expect(decision).to.have.property("code", "NOT_AUTHORIZED");
}

describe("KeyAuthorizer", () => {
  // Typed as the interface the publisher calls it through.
  const authorizer: Authorizer = new KeyAuthorizer(publisher, () => acl);

  it("grants a listed peer with a valid proof under its key and listed name", () => {
    const grant = granted(authorizer.authorize(helloFrom(full), ROUTING_ID));
    expect(grant.peerId).to.equal(full.publicKey);
    expect(grant.name).to.equal("archive-full");
    expect(grant.mayUsePub).to.equal(true);
    expect(grant.allowed("anything")).to.equal(true);
  });

  it("lets a peer with lists=* use PUB", () => {
    const grant = granted(authorizer.authorize(helloFrom(star), ROUTING_ID));
    expect(grant.peerId).to.equal(star.publicKey);
    expect(grant.mayUsePub).to.equal(true);
  });

  it("gives a restricted peer exactly its lists and no PUB", () => {
    const grant = granted(authorizer.authorize(helloFrom(limited), ROUTING_ID));
    expect(grant.peerId).to.equal(limited.publicKey);
    expect(grant.name).to.equal("archive-limited");
    expect(grant.mayUsePub).to.equal(false);
    for (const list of ["dev-", "dev-announce", "users"]) expect(grant.allowed(list), list).to.equal(true);
    for (const list of ["dev", "users2", "board", "xdev-a", ""]) expect(grant.allowed(list), list).to.equal(false);
  });

  it("ignores the lists a peer asks for in its hello", () => {
    const frame = { ...helloFrom(limited), lists: ["*", "board"] };
    const grant = granted(authorizer.authorize(frame, ROUTING_ID));
    expect(grant.allowed("board")).to.equal(false);
    expect(grant.mayUsePub).to.equal(false);
  });

  it("refuses an unlisted key, even with a valid proof", () => {
    expectRefused(authorizer.authorize(helloFrom(stranger), ROUTING_ID));
  });

  it("refuses a listed key with a wrong or missing proof", () => {
    expectRefused(authorizer.authorize(hello(full.publicKey, new Uint8Array(0)), ROUTING_ID));
    expectRefused(authorizer.authorize(hello(full.publicKey, new Uint8Array(32)), ROUTING_ID));
    expectRefused(authorizer.authorize(hello(full.publicKey, makeProof(full, generateKeyPair().publicKey)), ROUTING_ID));
    const tampered = Buffer.from(makeProof(full, publisher.publicKey));
    tampered[0] = tampered[0]! ^ 0x80;
    expectRefused(authorizer.authorize(hello(full.publicKey, tampered), ROUTING_ID));
  });

  it("refuses a hello naming another listed peer's key with the sender's own proof", () => {
    // The restricted peer tries to act as the unrestricted one.
    const ownProof = makeProof(limited, publisher.publicKey);
    expectRefused(authorizer.authorize(hello(full.publicKey, ownProof, "archive-full"), ROUTING_ID));
    // And the other way round.
    expectRefused(authorizer.authorize(hello(limited.publicKey, makeProof(full, publisher.publicKey)), ROUTING_ID));
  });

  it("refuses a hello naming something that is not a key", () => {
    expectRefused(authorizer.authorize(hello("peer-1", new Uint8Array(0)), ROUTING_ID));
  });

  it("follows a replaced PeerAcl", () => {
    let current = new PeerAcl([{ key: limited.publicKey, name: "before", lists: ["dev-*"] }]);
    const live: Authorizer = new KeyAuthorizer(publisher, () => current);
    expectRefused(live.authorize(helloFrom(full), ROUTING_ID));
    const before = granted(live.authorize(helloFrom(limited), ROUTING_ID));
    expect(before.name).to.equal("before");
    expect(before.allowed("users")).to.equal(false);

    current = new PeerAcl([
      { key: full.publicKey, name: "added", lists: null },
      { key: limited.publicKey, name: "after", lists: ["users"] },
    ]);
    expect(granted(live.authorize(helloFrom(full), ROUTING_ID)).name).to.equal("added");
    const after = granted(live.authorize(helloFrom(limited), ROUTING_ID));
    expect(after.name).to.equal("after");
    expect(after.allowed("users")).to.equal(true);
    expect(after.allowed("dev-x")).to.equal(false);

    current = new PeerAcl([{ key: full.publicKey, name: "added", lists: null }]);
    expectRefused(live.authorize(helloFrom(limited), ROUTING_ID));
  });
});
