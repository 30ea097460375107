// Proof that a hello comes from the holder of the key it names. The ROUTER
// does not tell which CURVE key authenticated a connection, so the peer
// proves possession: an HMAC keyed by the X25519 secret it shares with the
// publisher. Only the peer's and the publisher's secret keys can make it;
// CURVE keeps it from anyone else's eyes.

import { createHmac, timingSafeEqual } from "node:crypto";
import { sharedSecret, type KeyPair } from "./keys.js";

const CONTEXT = "mq-archive hello proof v1";

function mac(secret: Buffer, peerKey: string, publisherKey: string): Buffer {
  return createHmac("sha256", secret).update(`${CONTEXT}\0${peerKey}\0${publisherKey}`).digest();
}

/** What a peer puts in its hello. */
export function makeProof(peer: KeyPair, publisherKey: string): Uint8Array {
  return mac(sharedSecret(peer.secretKey, publisherKey), peer.publicKey, publisherKey);
}

/** Whether `proof` shows that the sender holds the secret key of `peerKey`. */
export function verifyProof(publisher: KeyPair, peerKey: string, proof: Uint8Array): boolean {
  let expected: Buffer;
  try {
    expected = mac(sharedSecret(publisher.secretKey, peerKey), peerKey, publisher.publicKey);
  } catch {
    return false;
  }
  return proof.length === expected.length && timingSafeEqual(Buffer.from(proof), expected);
}
