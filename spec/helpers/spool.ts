// Delivering into a spool as the Mailman plugin does (lib/ingest/spool.ts
// gives the layout): write in SPOOL/lists/<list>/tmp/, then rename into new/.
// Names carry a strictly increasing time, so they sort in delivery order.

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

let last = 0;
let n = 0;

/** A unique spool file name, later than every one made before it. */
export function spoolName(): string {
  last = Math.max(Date.now(), last + 1);
  return `${last}.${process.pid}_${++n}.test`;
}

/** Deliver one message; returns its path in new/. */
export function deliverToSpool(spool: string, m: { list: string; body: Buffer }): string {
  const base = join(spool, "lists", m.list);
  mkdirSync(join(base, "tmp"), { recursive: true });
  mkdirSync(join(base, "new"), { recursive: true });
  const name = spoolName();
  writeFileSync(join(base, "tmp", name), m.body);
  renameSync(join(base, "tmp", name), join(base, "new", name));
  return join(base, "new", name);
}
