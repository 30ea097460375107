// Secure sessions: a hello is granted only for a key in the allowlist and
// only with a valid proof, made for this connection's challenge, that the
// sender holds that key. A hello without one is answered with the
// challenge. The grant carries the key's lists; the name comes from the
// allowlist, not from the peer.

import type { HelloFrame } from "../wire/frames.js";
import type { AuthDecision, Authorizer } from "./authorizer.js";
import { fingerprint, type KeyPair } from "./keys.js";
import type { PeerAcl } from "./peers-file.js";
import { Challenger } from "./proof.js";

export class KeyAuthorizer implements Authorizer {
  private readonly challenger: Challenger;
  private lastAcl: PeerAcl | null = null;

  constructor(
    keys: KeyPair,
    private readonly acl: () => PeerAcl,
  ) {
    this.challenger = new Challenger(keys);
  }

  authorize(hello: HelloFrame, routingId: Buffer): AuthDecision {
    const acl = this.acl();
    if (acl !== this.lastAcl) {
      this.challenger.forget();
      this.lastAcl = acl;
    }
    const entry = acl.get(hello.peer);
    if (entry === undefined) {
      return { ok: false, code: "NOT_AUTHORIZED", message: `key ${fingerprint(hello.peer)} is not in the publisher's peers file` };
    }
    if (!this.challenger.verify(hello.peer, routingId, hello.proof)) {
      return { ok: false, code: "CHALLENGE", challenge: this.challenger.challengeFor(routingId), badProof: hello.proof.length > 0 };
    }
    return { ok: true, grant: { peerId: entry.key, name: entry.name, allowed: entry.allowed, mayUsePub: entry.all } };
  }
}
