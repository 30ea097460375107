// Proof that a hello comes from the holder of the key it names, on this
// connection. The ROUTER does not tell which CURVE key authenticated a
// connection, so the peer proves possession: an HMAC keyed by the X25519
// secret it shares with the publisher, over a challenge the publisher sent
// on this connection. Only the peer's and the publisher's secret keys can
// make it, and a proof seen (or kept) answers nothing later: a challenge is
// random, stays the same for its connection until a proof answers it, and
// is then spent (a client may choose its routing id, so a later connection
// with the same id gets a new one).

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { BoundedMap } from "../bounded-map.js";
import { sharedSecret, type KeyPair } from "./keys.js";

const CONTEXT = "mq-archive hello proof v2";
export const CHALLENGE_BYTES = 16;

function mac(secret: Buffer, peerKey: string, publisherKey: string, challenge: Uint8Array): Buffer {
  return createHmac("sha256", secret).update(`${CONTEXT}\0${peerKey}\0${publisherKey}\0`).update(challenge).digest();
}

/** What a peer puts in the hello that answers `challenge`. */
export function makeProof(peer: KeyPair, publisherKey: string, challenge: Uint8Array): Uint8Array {
  return mac(sharedSecret(peer.secretKey, publisherKey), peer.publicKey, publisherKey, challenge);
}

/** Challenges waiting for an answer: one per connection; a flood of connections evicts the oldest (which are asked again). */
const MAX_PENDING = 20_000;

/**
 * The publisher's side: the challenge waiting on each connection (by
 * routing id) and the check of a proof against it. X25519 results are kept
 * per peer key, since only keys of the allowlist are ever verified.
 */
export class Challenger {
  private readonly pending = new BoundedMap<string, Buffer>(MAX_PENDING);
  private readonly secrets = new Map<string, Buffer | null>();

  constructor(private readonly publisher: KeyPair) {}

  /** The challenge waiting on this connection, made now if there is none. */
  challengeFor(routingId: Buffer): Buffer {
    const key = routingId.toString("hex");
    let challenge = this.pending.get(key);
    if (challenge === undefined) {
      challenge = randomBytes(CHALLENGE_BYTES);
      this.pending.set(key, challenge);
    }
    return challenge;
  }

  /**
   * Whether `proof` shows that the sender holds `peerKey`'s secret and
   * answers this connection's waiting challenge, which a valid proof spends.
   */
  verify(peerKey: string, routingId: Buffer, proof: Uint8Array): boolean {
    const key = routingId.toString("hex");
    const challenge = this.pending.get(key);
    const secret = challenge === undefined ? null : this.secretFor(peerKey);
    if (challenge === undefined || secret === null) return false;
    const expected = mac(secret, peerKey, this.publisher.publicKey, challenge);
    const valid = proof.length === expected.length && timingSafeEqual(Buffer.from(proof), expected);
    if (valid) this.pending.delete(key);
    return valid;
  }

  /** Forget derived secrets (the allowlist changed). */
  forget(): void {
    this.secrets.clear();
  }

  private secretFor(peerKey: string): Buffer | null {
    let secret = this.secrets.get(peerKey);
    if (secret === undefined) {
      try {
        secret = sharedSecret(this.publisher.secretKey, peerKey);
      } catch {
        secret = null;
      }
      this.secrets.set(peerKey, secret);
    }
    return secret;
  }
}
