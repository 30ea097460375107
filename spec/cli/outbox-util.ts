// Reading and seeding outbox files around CLI runs, through the project's own
// Outbox class on the same file the child process used.

import { existsSync } from "node:fs";
import { Outbox } from "../../lib/store/outbox.js";
import type { OutboxRecord } from "../../lib/store/record-log.js";

/** Every record of the outbox at `db`, in seq order; [] when the file does not exist. */
export function outboxRecords(db: string): OutboxRecord[] {
  if (!existsSync(db)) return [];
  const outbox = Outbox.open(db, { create: false });
  try {
    return outbox.records.readAfter(0, { limit: 100_000, maxBytes: Number.MAX_SAFE_INTEGER });
  } finally {
    outbox.close();
  }
}

/** Run `fn` on the outbox at `db`, created if missing, and close it. */
export function withOutbox<T>(db: string, fn: (outbox: Outbox) => T): T {
  const outbox = Outbox.open(db);
  try {
    return fn(outbox);
  } finally {
    outbox.close();
  }
}
