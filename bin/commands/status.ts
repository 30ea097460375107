// `mq-archive status`: the outbox and every known peer, as a table or JSON.

import { STATUS_OPTIONS } from "../../lib/config/commands.js";
import type { Resolved } from "../../lib/config/spec.js";
import { EXIT } from "../../lib/errors.js";
import { formatStatus, readStatus } from "../../lib/status.js";
import { Outbox } from "../../lib/store/outbox.js";

export async function runStatus(opts: Resolved<typeof STATUS_OPTIONS>): Promise<number> {
  const outbox = Outbox.open(opts.db, { create: false, readonly: true });
  try {
    const status = readStatus(outbox);
    process.stdout.write(opts.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
    return EXIT.OK;
  } finally {
    outbox.close();
  }
}
