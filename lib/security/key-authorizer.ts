// Secure sessions: a hello is granted only for a key in the allowlist and
// only with a valid proof that the sender holds that key. The grant carries
// the key's lists; the name comes from the allowlist, not from the peer.

import type { HelloFrame } from "../wire/frames.js";
import type { AuthDecision, Authorizer } from "./authorizer.js";
import { fingerprint, type KeyPair } from "./keys.js";
import type { PeerAcl } from "./peers-file.js";
import { verifyProof } from "./proof.js";

export class KeyAuthorizer implements Authorizer {
  constructor(
    private readonly keys: KeyPair,
    private readonly acl: () => PeerAcl,
  ) {}

  authorize(hello: HelloFrame): AuthDecision {
    const entry = this.acl().get(hello.peer);
    if (entry === undefined) {
      return { ok: false, code: "NOT_AUTHORIZED", message: `key ${fingerprint(hello.peer)} is not in the publisher's peers file` };
    }
    if (!verifyProof(this.keys, hello.peer, hello.proof)) {
      return { ok: false, code: "NOT_AUTHORIZED", message: "the hello's proof does not match the key it names" };
    }
    return { ok: true, grant: { peerId: entry.key, name: entry.name, allowed: entry.allowed, mayUsePub: entry.all } };
  }
}
