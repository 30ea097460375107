// `mq-archive publish`: one message (or with --event one list event) from
// FILE or stdin, or a bulk import.

import { parseArgv } from "../../lib/config/argv.js";
import { PUBLISH_OPTIONS, type PublishOptions } from "../../lib/config/commands.js";
import { resolveOptions } from "../../lib/config/resolve.js";
import { EXIT, InvalidMessageError, UsageError } from "../../lib/errors.js";
import { commitEvent, EVENT_DEFAULTS, publishMessage } from "../../lib/ingest/publish.js";
import { readMessageFile, readMessageStream } from "../../lib/ingest/read-input.js";
import { parseEvent } from "../../lib/message/event.js";
import { Outbox } from "../../lib/store/outbox.js";
import { runCommand } from "../exit.js";


/** The fast path: argv straight from the entry point. */
export async function publishCommand(argv: string[]): Promise<void> {
  await runCommand(async () => {
    const { values, positionals } = parseArgv(PUBLISH_OPTIONS, argv);
    if (positionals.length > 1) throw new UsageError(`publish takes at most one FILE, got ${positionals.length}`);
    const cli = { ...values, file: positionals[0] };
    return runPublish(resolveOptions(PUBLISH_OPTIONS, { command: "publish", cli }));
  });
}

export async function runPublish(opts: PublishOptions): Promise<number> {
  const sources = [opts.file, opts.mbox, opts.maildir].filter((s) => s !== undefined);
  if (sources.length > 1) throw new UsageError("give only one of FILE, --mbox and --maildir");
  if (opts.spool !== undefined) {
    if (sources.length > 0 || opts.event) throw new UsageError("--spool imports the spool: give no FILE, --mbox, --maildir or --event with it");
    const { runSpoolImport } = await import("./publish-spool.js");
    return runSpoolImport({ ...opts, spool: opts.spool });
  }
  if (opts.event) {
    if (opts.mbox !== undefined || opts.maildir !== undefined) throw new UsageError("--event takes one event: FILE or stdin, not --mbox or --maildir");
    return runPublishEvent(opts);
  }
  const list = opts.list;
  if (list === undefined) throw new UsageError(`missing required option --list (${PUBLISH_OPTIONS.list.describe})`);
  if (opts.mbox !== undefined || opts.maildir !== undefined) {
    const { runBulkImport } = await import("./publish-bulk.js");
    return runBulkImport({ ...opts, list });
  }
  const body = await readInput(opts);
  const outbox = Outbox.open(opts.db);
  try {
    const result = publishMessage(outbox.records, list, body, opts["max-size"]);
    process.stdout.write(`${result.seq}\n`);
    if (result.duplicate) {
      process.stderr.write(`mq-archive: ${result.messageId} is already in the outbox as seq ${result.seq}\n`);
    }
    return EXIT.OK;
  } finally {
    await outbox.close();
  }
}

/** One list event from JSON; its list comes from the JSON (a --list given must name the same). */
async function runPublishEvent(opts: PublishOptions): Promise<number> {
  const record = parseEvent(await readInput(opts), EVENT_DEFAULTS);
  if (opts.list !== undefined && opts.list !== record.list) {
    throw new InvalidMessageError("BAD_LIST", `the event is for list ${JSON.stringify(record.list)}, not --list ${JSON.stringify(opts.list)}`);
  }
  const outbox = Outbox.open(opts.db);
  try {
    const result = commitEvent(outbox.records, record);
    process.stdout.write(`${result.seq}\n`);
    if (result.duplicate) process.stderr.write(`mq-archive: event ${result.event.id} is already in the outbox as seq ${result.seq}\n`);
    return EXIT.OK;
  } finally {
    await outbox.close();
  }
}

function readInput(opts: PublishOptions): Promise<Buffer> {
  return opts.file === undefined
    ? readMessageStream(process.stdin, opts["max-size"])
    : Promise.resolve(readMessageFile(opts.file, opts["max-size"]));
}
