// verify's report as text for a person (JSON is the report object itself).

import type { VerifyReport } from "./run.js";
import { agrees } from "./run.js";

export function formatVerifyReport(r: VerifyReport): string {
  const out: string[] = [];
  out.push(
    `outbox ${r.outbox}: ${r.lists} lists compared up to seq ${r.through} (state position ${r.position}, acknowledged ${r.acked})`,
  );
  if (r.since > 1) out.push(`  the publisher's ledger begins at seq ${r.since} (older records were pruned before it kept one): not compared below it`);
  if (r.acked > r.position) {
    out.push(`  the state's position ${r.position} is below the ${r.acked} it acknowledged: restored from an older copy?`);
  }
  for (const d of r.differences) {
    out.push(`list ${d.list}: ${d.missing.length} missing, ${d.extra.length} archived that the ledger does not hold`);
    for (const m of d.missing) out.push(`  missing  seq ${m.seq} ${m.messageId ?? "(pruned: Message-ID not retained)"}`);
    for (const e of d.extra) out.push(`  extra    seq ${e.seq} (Message-ID digest ${e.key.toString("hex")})`);
  }
  for (const l of r.lost) out.push(`list ${l.list}: seq ${l.seq} is recorded as archived but ${l.sink} does not hold it`);
  for (const u of r.unrecorded) out.push(`list ${u.list}: ${u.sink} holds ${u.count} messages the state does not record`);
  for (const s of r.unreadable) out.push(`${s}: cannot be read back (only maildir, mbox, public-inbox and hyperkitty can)`);
  if (r.repaired > 0) out.push(`repaired: ${r.repaired} records fetched and stored`);
  for (const u of r.unrecoverable) out.push(`unrecoverable from this outbox: list ${u.list} seq ${u.seq} (pruned)`);
  out.push(`exchanged ${r.bytes.sent} bytes sent, ${r.bytes.received} received; ${r.ranges} ranges compared; ${Math.round(r.ms)} ms`);
  out.push(agrees(r) ? (r.repaired > 0 ? "repaired: the archive now agrees with the ledger" : "the archive agrees with the ledger") : "the archive DIFFERS from the ledger");
  return `${out.join("\n")}\n`;
}
