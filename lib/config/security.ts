// Secure by default: turn the command-line options into keys and an
// allowlist, or into an explicit, loud plaintext mode. Every contradiction
// or omission is an error saying what to do.

import { UsageError } from "../errors.js";
import { isLoopback } from "../transport/endpoints.js";
import { readKeyFile, readPublicKey, type KeyPair } from "../security/keys.js";
import { PeerAcl, readPeersFile } from "../security/peers-file.js";

export type ServeSecurity = { secure: true; keys: KeyPair; peers: PeerAcl; peersFile: string } | { secure: false };

export function serveSecurity(o: {
  key: string | undefined;
  peers: string | undefined;
  insecure: boolean;
  insecureRemote: boolean;
  endpoints: string[];
}): ServeSecurity {
  if (o.insecure) {
    if (o.key !== undefined || o.peers !== undefined) throw new UsageError("--insecure contradicts --key/--peers: choose one");
    const remote = o.endpoints.filter((e) => !isLoopback(e));
    if (remote.length > 0 && !o.insecureRemote) {
      throw new UsageError(
        `--insecure would serve ${remote.join(" and ")} in plaintext to the network: bind a loopback address, ` +
          "use keys (--key, --peers), or add --insecure-remote if this network is trusted",
      );
    }
    return { secure: false };
  }
  if (o.key === undefined || o.peers === undefined) {
    throw new UsageError(
      "serve encrypts and authenticates every link: give --key (make one with `mq-archive keygen --out NAME`) and " +
        "--peers (the allowed peers' public keys), or --insecure to run in plaintext on loopback",
    );
  }
  return { secure: true, keys: readKeyFile(o.key), peers: new PeerAcl(readPeersFile(o.peers)), peersFile: o.peers };
}

export type SubscribeSecurity = { secure: true; keys: KeyPair; serverKey: string[] } | { secure: false };

/** One --server-key per --connect, in order (or one for all). */
export function subscribeSecurity(o: { key: string | undefined; serverKey: readonly string[] | undefined; insecure: boolean }): SubscribeSecurity {
  if (o.insecure) {
    if (o.key !== undefined || o.serverKey !== undefined) throw new UsageError("--insecure contradicts --key/--server-key: choose one");
    return { secure: false };
  }
  if (o.key === undefined || o.serverKey === undefined || o.serverKey.length === 0) {
    throw new UsageError(
      "subscribe encrypts and authenticates its link: give --key (make one with `mq-archive keygen --out NAME`; " +
        "put its .pub line in the publisher's peers file) and --server-key (the publisher's public key), or --insecure",
    );
  }
  return { secure: true, keys: readKeyFile(o.key), serverKey: o.serverKey.map((k) => readPublicKey(k, "--server-key")) };
}
