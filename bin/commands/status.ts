// `mq-archive status`: the publisher's outbox and its peers (--db), or an
// archive peer's own state (--state); --spool adds (or shows alone) the
// spool Mailman's plugin writes when it cannot commit.

import { STATUS_OPTIONS } from "../../lib/config/commands.js";
import type { Resolved } from "../../lib/config/spec.js";
import { formatSubscriberStatus, readSubscriberStatus } from "../../lib/status/subscriber.js";
import { EXIT, UsageError } from "../../lib/errors.js";
import { formatStatus, readStatus, type OutboxStatus } from "../../lib/status/outbox.js";
import { formatSpoolStatus, readSpoolStatus } from "../../lib/status/spool.js";
import { Outbox } from "../../lib/store/outbox.js";
import { SubscriberState } from "../../lib/store/state.js";

export async function runStatus(opts: Resolved<typeof STATUS_OPTIONS>): Promise<number> {
  const spoolAlone = opts.spool !== undefined && opts.db === undefined && opts.state === undefined;
  if (!spoolAlone && (opts.db === undefined) === (opts.state === undefined)) {
    throw new UsageError("status takes --db (a publisher's outbox, and its --spool) or --state (an archive peer's state)");
  }
  const print = <T>(value: T, format: (v: T) => string): void => {
    process.stdout.write(opts.json ? `${JSON.stringify(value, null, 2)}\n` : format(value));
  };
  if (opts.state !== undefined) {
    const state = SubscriberState.open(opts.state, { create: false });
    try {
      print(readSubscriberStatus(state), formatSubscriberStatus);
    } finally {
      state.close();
    }
    return EXIT.OK;
  }
  const spool = opts.spool === undefined ? undefined : await readSpoolStatus(opts.spool);
  let outbox: OutboxStatus | undefined;
  if (opts.db !== undefined) {
    const opened = Outbox.open(opts.db, { create: false, readonly: true });
    try {
      outbox = readStatus(opened);
    } finally {
      await opened.close();
    }
  }
  const text = (): string => [outbox && formatStatus(outbox), spool && formatSpoolStatus(spool)].filter(Boolean).join("\n");
  print({ ...outbox, ...(spool === undefined ? {} : { spool }) }, text);
  return EXIT.OK;
}
