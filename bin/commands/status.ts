// `mq-archive status`: the publisher's outbox and its peers (--db), or an
// archive peer's own state (--state); --spool adds (or shows alone) the
// spool Mailman's plugin writes when it cannot commit. --watch redraws the
// table every second for a person at a terminal, until Ctrl-C.

import { STATUS_OPTIONS } from "../../lib/config/commands.js";
import type { Resolved } from "../../lib/config/spec.js";
import { formatSubscriberStatus, readSubscriberStatus } from "../../lib/status/subscriber.js";
import { EXIT, UsageError } from "../../lib/errors.js";
import { formatStatus, readStatus, type OutboxStatus } from "../../lib/status/outbox.js";
import { formatSpoolStatus, readSpoolStatus } from "../../lib/status/spool.js";
import { Outbox } from "../../lib/store/outbox.js";
import { SubscriberState } from "../../lib/store/state.js";

const WATCH_MS = 1000;
/** Home the cursor and clear the screen. */
const CLEAR = "\x1b[H\x1b[2J";

export async function runStatus(opts: Resolved<typeof STATUS_OPTIONS>): Promise<number> {
  const spoolAlone = opts.spool !== undefined && opts.db === undefined && opts.state === undefined;
  if (!spoolAlone && (opts.db === undefined) === (opts.state === undefined)) {
    throw new UsageError("status takes --db (a publisher's outbox, and its --spool) or --state (an archive peer's state)");
  }
  if (opts.watch && opts.json) throw new UsageError("--watch is for a terminal: it does not go with --json");
  if (!opts.watch) {
    process.stdout.write(await render(opts));
    return EXIT.OK;
  }
  let stopped = false;
  process.once("SIGINT", () => (stopped = true));
  while (!stopped) {
    const frame = await render(opts).catch((err: Error) => `${err.message}\n`); // a moment's trouble (a busy outbox) is shown, not fatal
    process.stdout.write(`${CLEAR}${new Date().toISOString()}  (every ${WATCH_MS / 1000} s; Ctrl-C to stop)\n\n${frame}`);
    await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
  }
  return EXIT.OK;
}

/** One status, as JSON or as the table. */
async function render(opts: Resolved<typeof STATUS_OPTIONS>): Promise<string> {
  const show = <T>(value: T, format: (v: T) => string): string => (opts.json ? `${JSON.stringify(value, null, 2)}\n` : format(value));
  if (opts.state !== undefined) {
    const state = SubscriberState.open(opts.state, { create: false });
    try {
      return show(readSubscriberStatus(state), formatSubscriberStatus);
    } finally {
      state.close();
    }
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
  return show({ ...outbox, ...(spool === undefined ? {} : { spool }) }, text);
}
