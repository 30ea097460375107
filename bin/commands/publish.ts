// `mq-archive publish`: one message from FILE or stdin, or a bulk import.

import { parseArgv } from "../../lib/config/argv.js";
import { PUBLISH_OPTIONS, type PublishOptions } from "../../lib/config/commands.js";
import { resolveOptions } from "../../lib/config/resolve.js";
import { EXIT, UsageError } from "../../lib/errors.js";
import { publishMessage } from "../../lib/ingest/publish.js";
import { readMessageFile, readMessageStream } from "../../lib/ingest/read-input.js";
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
  if (opts.mbox !== undefined || opts.maildir !== undefined) {
    const { runBulkImport } = await import("./publish-bulk.js");
    return runBulkImport(opts);
  }
  const body =
    opts.file === undefined
      ? await readMessageStream(process.stdin, opts["max-size"])
      : readMessageFile(opts.file, opts["max-size"]);
  const outbox = Outbox.open(opts.db);
  try {
    const result = publishMessage(outbox.records, opts.list, body, opts["max-size"]);
    process.stdout.write(`${result.seq}\n`);
    if (result.duplicate) {
      process.stderr.write(`mq-archive: ${result.messageId} is already in the outbox as seq ${result.seq}\n`);
    }
    return EXIT.OK;
  } finally {
    await outbox.close();
  }
}
