// `mq-archive keygen --out NAME`: a CURVE key pair for a publisher or a peer.

import { KEYGEN_OPTIONS } from "../../lib/config/commands.js";
import type { Resolved } from "../../lib/config/spec.js";
import { EXIT } from "../../lib/errors.js";
import { generateKeyPair, writeKeyFiles } from "../../lib/security/keys.js";

export async function runKeygen(opts: Resolved<typeof KEYGEN_OPTIONS>): Promise<number> {
  const pair = generateKeyPair();
  const { keyFile, pubFile } = writeKeyFiles(opts.out, pair);
  process.stderr.write(`wrote ${keyFile} (secret, mode 0600) and ${pubFile}\n`);
  process.stdout.write(`${pair.publicKey}\n`);
  return EXIT.OK;
}
