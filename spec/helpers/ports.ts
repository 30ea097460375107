// Free TCP ports on loopback, in pairs (ROUTER port and PUB port + 1), for
// daemons that must come back on the same endpoint after a restart.

import { createServer } from "node:net";

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

// Below Linux's ephemeral range (32768 and up), so no outgoing connection takes
// a port a test closes and opens again.
const LOW = 20_000;
const HIGH = 32_000;
let next = LOW + ((process.pid * 10) % (HIGH - LOW));

/** A port p such that p and p + 1 are both free; never the same twice in one run. */
export async function freePortPair(): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const port = next;
    next += 2;
    if (next > HIGH) next = LOW;
    if ((await isFree(port)) && (await isFree(port + 1))) return port;
  }
  throw new Error("no free port pair on 127.0.0.1");
}
