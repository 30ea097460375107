// Who a peer is and what it may receive, decided when its session starts.
// The publisher asks an Authorizer; it never trusts a name a peer claims.

import type { HelloFrame } from "../wire/frames.js";
import { ALL_LISTS, type ListMatcher } from "./list-match.js";

export interface PeerGrant {
  /** The identity positions and acks are recorded under. */
  peerId: string;
  name: string;
  /** Lists the peer may receive. */
  allowed: ListMatcher;
  /** Whether it may follow the PUB socket (which carries every list). */
  mayUsePub: boolean;
}

export type AuthDecision =
  | { ok: true; grant: PeerGrant }
  | { ok: false; code: "NOT_AUTHORIZED"; message: string }
  /** The hello must prove its key on this connection: answer `challenge` (`badProof`: it carried a proof that did not). */
  | { ok: false; code: "CHALLENGE"; challenge: Buffer; badProof: boolean };

export interface Authorizer {
  authorize(hello: HelloFrame, routingId: Buffer): AuthDecision;
}

/**
 * --insecure: no keys, so a peer is who it says it is and receives every
 * list. Only for loopback and trusted networks.
 */
export class InsecureAuthorizer implements Authorizer {
  authorize(hello: HelloFrame): AuthDecision {
    return {
      ok: true,
      grant: { peerId: hello.peer, name: hello.name || hello.peer, allowed: ALL_LISTS, mayUsePub: true },
    };
  }
}
