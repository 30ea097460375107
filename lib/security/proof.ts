// Proof that a hello comes from the holder of the key it names, on this
// connection. The ROUTER does not tell which CURVE key authenticated a
// connection, so the peer proves possession: an HMAC keyed by the X25519
// secret it shares with the publisher, over a challenge the publisher sent
// on this connection alone. Only the peer's and the publisher's secret keys
// can make it, and a proof seen (or kept) from one connection answers no
// other: each connection's challenge differs, and a restart of the
// publisher changes them all.

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
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

/**
 * The publisher's side: a challenge per connection, derived from its
 * routing id under a secret of this process (no state per connection), and
 * the check of a proof against it. X25519 results are kept per peer key,
 * since only keys of the allowlist are ever verified.
 */
export class Challenger {
  private readonly salt = randomBytes(32);
  private readonly secrets = new Map<string, Buffer | null>();

  constructor(private readonly publisher: KeyPair) {}

  challengeFor(routingId: Buffer): Buffer {
    return createHmac("sha256", this.salt).update(routingId).digest().subarray(0, CHALLENGE_BYTES);
  }

  /** Whether `proof` shows that the sender holds `peerKey`'s secret and answers this connection's challenge. */
  verify(peerKey: string, routingId: Buffer, proof: Uint8Array): boolean {
    const secret = this.secretFor(peerKey);
    if (secret === null) return false;
    const expected = mac(secret, peerKey, this.publisher.publicKey, this.challengeFor(routingId));
    return proof.length === expected.length && timingSafeEqual(Buffer.from(proof), expected);
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
