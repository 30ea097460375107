// The PUB endpoint beside the ROUTER one: the user names one endpoint and
// PUB takes the next port; the publisher announces what it bound, and the
// subscriber reaches it on the host it already connects to.

import { UsageError } from "../errors.js";

const TCP = /^tcp:\/\/(.+):(\d+|\*)$/;

/** --bind tcp://host:5580 → tcp://host:5581 (an ephemeral `*` or `0` stays ephemeral). */
export function derivePubEndpoint(bind: string): string {
  const m = TCP.exec(bind);
  if (m) {
    const ephemeral = m[2] === "*" || m[2] === "0";
    const port = ephemeral ? m[2] : String(Number(m[2]) + 1);
    return `tcp://${m[1]}:${port}`;
  }
  if (bind.startsWith("ipc://")) return `${bind}.pub`;
  if (bind.startsWith("inproc://")) return `${bind}-pub`;
  throw new UsageError(`cannot derive a PUB endpoint from ${bind}: give --pub-bind`);
}

/** The endpoint a subscriber connects its SUB socket to, given its --connect and the announced PUB endpoint. */
export function pubEndpointFor(connect: string, announced: string): string {
  const c = TCP.exec(connect);
  const a = TCP.exec(announced);
  if (c && a) return `tcp://${c[1]}:${a[2]}`;
  return announced;
}

export function validateEndpoint(endpoint: string, option: string): string {
  if (!/^(tcp|ipc|inproc):\/\/.+/.test(endpoint)) {
    throw new UsageError(`${option} ${JSON.stringify(endpoint)} is not a ZeroMQ endpoint such as tcp://127.0.0.1:5580`);
  }
  return endpoint;
}

/** True for endpoints only this host can reach. */
export function isLoopback(endpoint: string): boolean {
  const m = TCP.exec(endpoint);
  if (!m) return endpoint.startsWith("ipc://") || endpoint.startsWith("inproc://");
  const host = m[1]!.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
