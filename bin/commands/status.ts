// `mq-archive status`: the publisher's outbox and its peers (--db), or an
// archive peer's own state (--state).

import { STATUS_OPTIONS } from "../../lib/config/commands.js";
import type { Resolved } from "../../lib/config/spec.js";
import { formatSubscriberStatus, readSubscriberStatus } from "../../lib/status/subscriber.js";
import { EXIT, UsageError } from "../../lib/errors.js";
import { formatStatus, readStatus } from "../../lib/status/outbox.js";
import { Outbox } from "../../lib/store/outbox.js";
import { SubscriberState } from "../../lib/store/state.js";

export async function runStatus(opts: Resolved<typeof STATUS_OPTIONS>): Promise<number> {
  if ((opts.db === undefined) === (opts.state === undefined)) throw new UsageError("status takes --db (a publisher's outbox) or --state (an archive peer's state)");
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
  const outbox = Outbox.open(opts.db!, { create: false, readonly: true });
  try {
    print(readStatus(outbox), formatStatus);
  } finally {
    await outbox.close();
  }
  return EXIT.OK;
}
