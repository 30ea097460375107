// Secure sessions: a hello is granted only for a listed key with a valid
// proof of possession for this connection's challenge; the grant's
// identity, name and lists come from the allowlist, never from the peer.

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
const OTHER_CONNECTION = Buffer.from([0, 1, 2, 3, 5]);

function hello(peer: string, proof: Uint8Array, name = "claimed-name"): HelloFrame {
  return { type: "hello", peer, name, from: 0, outbox: null, lists: null, credit: 1 << 20, proof };
}

function challengeOf(decision: AuthDecision): Buffer {
  if (decision.ok || decision.code !== "CHALLENGE") throw new Error(`expected a challenge, got ${JSON.stringify(decision)}`);
  return decision.challenge;
}

function granted(decision: AuthDecision): PeerGrant {
  if (!decision.ok) throw new Error(`expected a grant, got ${JSON.stringify(decision)}`);
  return decision.grant;
}

function expectRefused(decision: AuthDecision): void {
  expect(decision.ok).to.equal(false);
  expect(decision).to.have.property("code", "NOT_AUTHORIZED");
}

function expectChallenged(decision: AuthDecision, badProof: boolean): void {
  expect(decision).to.include({ ok: false, code: "CHALLENGE", badProof });
}

describe("KeyAuthorizer", () => {
  // Typed as the interface the publisher calls it through.
  const authorizer: Authorizer = new KeyAuthorizer(publisher, () => acl);

  /** The hello that answers this connection's challenge, as a subscriber sends it. */
  function helloFrom(pair: KeyPair, auth = authorizer, routingId = ROUTING_ID): HelloFrame {
    const challenge = challengeOf(auth.authorize(hello(pair.publicKey, new Uint8Array(0)), routingId));
    return hello(pair.publicKey, makeProof(pair, publisher.publicKey, challenge));
  }

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
    const challenge = challengeOf(authorizer.authorize(hello(full.publicKey, new Uint8Array(0)), ROUTING_ID));
    expectRefused(authorizer.authorize(hello(stranger.publicKey, makeProof(stranger, publisher.publicKey, challenge)), ROUTING_ID));
  });

  it("challenges a listed key with a missing or wrong proof, and grants nothing", () => {
    expectChallenged(authorizer.authorize(hello(full.publicKey, new Uint8Array(0)), ROUTING_ID), false);
    const challenge = challengeOf(authorizer.authorize(hello(full.publicKey, new Uint8Array(0)), ROUTING_ID));
    expectChallenged(authorizer.authorize(hello(full.publicKey, new Uint8Array(32)), ROUTING_ID), true);
    const otherPublisher = makeProof(full, generateKeyPair().publicKey, challenge);
    expectChallenged(authorizer.authorize(hello(full.publicKey, otherPublisher), ROUTING_ID), true);
    const tampered = Buffer.from(makeProof(full, publisher.publicKey, challenge));
    tampered[0] = tampered[0]! ^ 0x80;
    expectChallenged(authorizer.authorize(hello(full.publicKey, tampered), ROUTING_ID), true);
  });

  it("challenges each connection differently, and the same connection alike", () => {
    const ask = (routingId: Buffer) => challengeOf(authorizer.authorize(hello(full.publicKey, new Uint8Array(0)), routingId));
    expect(ask(ROUTING_ID).equals(ask(ROUTING_ID))).to.equal(true);
    expect(ask(ROUTING_ID).equals(ask(OTHER_CONNECTION))).to.equal(false);
    // Another publisher process (a restart) challenges the same routing id differently.
    const restarted = new KeyAuthorizer(publisher, () => acl);
    expect(ask(ROUTING_ID).equals(challengeOf(restarted.authorize(hello(full.publicKey, new Uint8Array(0)), ROUTING_ID)))).to.equal(false);
  });

  it("does not take a proof made for one connection on another (a captured proof cannot be replayed)", () => {
    const answered = helloFrom(full, authorizer, ROUTING_ID);
    expect(granted(authorizer.authorize(answered, ROUTING_ID)).peerId).to.equal(full.publicKey);
    expectChallenged(authorizer.authorize(answered, OTHER_CONNECTION), true);
  });

  it("refuses a hello naming another listed peer's key with the sender's own proof", () => {
    // The restricted peer tries to act as the unrestricted one, answering its challenge with its own key.
    const challenge = challengeOf(authorizer.authorize(hello(full.publicKey, new Uint8Array(0)), ROUTING_ID));
    const ownProof = makeProof(limited, publisher.publicKey, challenge);
    expectChallenged(authorizer.authorize(hello(full.publicKey, ownProof, "archive-full"), ROUTING_ID), true);
    // And the other way round.
    const fullProof = makeProof(full, publisher.publicKey, challenge);
    expectChallenged(authorizer.authorize(hello(limited.publicKey, fullProof), ROUTING_ID), true);
  });

  it("refuses a hello naming something that is not a key", () => {
    expectRefused(authorizer.authorize(hello("peer-1", new Uint8Array(0)), ROUTING_ID));
  });

  it("follows a replaced PeerAcl", () => {
    let current = new PeerAcl([{ key: limited.publicKey, name: "before", lists: ["dev-*"] }]);
    const live: Authorizer = new KeyAuthorizer(publisher, () => current);
    expectRefused(live.authorize(hello(full.publicKey, new Uint8Array(0)), ROUTING_ID));
    const before = granted(live.authorize(helloFrom(limited, live), ROUTING_ID));
    expect(before.name).to.equal("before");
    expect(before.allowed("users")).to.equal(false);

    current = new PeerAcl([
      { key: full.publicKey, name: "added", lists: null },
      { key: limited.publicKey, name: "after", lists: ["users"] },
    ]);
    expect(granted(live.authorize(helloFrom(full, live), ROUTING_ID)).name).to.equal("added");
    const after = granted(live.authorize(helloFrom(limited, live), ROUTING_ID));
    expect(after.name).to.equal("after");
    expect(after.allowed("users")).to.equal(true);
    expect(after.allowed("dev-x")).to.equal(false);

    current = new PeerAcl([{ key: full.publicKey, name: "added", lists: null }]);
    expectRefused(live.authorize(hello(limited.publicKey, new Uint8Array(0)), ROUTING_ID));
  });
});
