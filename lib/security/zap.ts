// The ZAP decision (ZeroMQ RFC 27), pure: which CURVE keys may complete a
// handshake on which socket. Unknown keys are refused everywhere; a key
// limited to some lists is refused on PUB, which carries every list.

import { fingerprint } from "./keys.js";
import type { PeerAcl } from "./peers-file.js";
import { z85Encode } from "./z85.js";

export interface ZapRequest {
  domain: string;
  /** The peer's IP address, for logs. */
  address: string;
  mechanism: string;
  credentials: Buffer[];
}

export type ZapDecision =
  | { ok: true; key: string }
  | { ok: false; reason: "unknown-key" | "pub-restricted" | "bad-request"; key: string | null; text: string };

export type SocketRole = "router" | "pub";

export function decideZap(acl: PeerAcl, role: SocketRole, request: ZapRequest): ZapDecision {
  const credential = request.credentials[0];
  if (request.mechanism !== "CURVE" || credential === undefined || credential.length !== 32) {
    return { ok: false, reason: "bad-request", key: null, text: "CURVE with a 32-byte key required" };
  }
  const key = z85Encode(credential);
  const entry = acl.get(key);
  if (entry === undefined) {
    return { ok: false, reason: "unknown-key", key, text: `unknown key ${fingerprint(key)}` };
  }
  if (role === "pub" && !entry.all) {
    return { ok: false, reason: "pub-restricted", key, text: "this key may not receive every list" };
  }
  return { ok: true, key };
}
