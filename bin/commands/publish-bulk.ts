// `mq-archive publish --mbox FILE | --maildir DIR`: bulk import with group
// commit, a progress line on a TTY, and a summary.

import { formatBytes } from "../../lib/config/units.js";
import { EXIT } from "../../lib/errors.js";
import { bulkImport, type ImportProgress, type ImportSource } from "../../lib/ingest/bulk-import.js";
import { readMaildir } from "../../lib/ingest/maildir-reader.js";
import { readMbox } from "../../lib/ingest/mbox-reader.js";
import { Outbox } from "../../lib/store/outbox.js";
import type { PublishOptions } from "../../lib/config/commands.js";

export async function runBulkImport(opts: PublishOptions & { list: string }): Promise<number> {
  const outbox = Outbox.open(opts.db);
  const tty = process.stderr.isTTY === true && !opts.quiet;
  try {
    const summary = await bulkImport(outbox.records, sourceOf(opts), {
      list: opts.list,
      maxSize: opts["max-size"],
      onReject: (where, reason) => {
        if (tty) process.stderr.write("\r\x1b[K");
        process.stderr.write(`mq-archive: rejected ${where}: ${reason}\n`);
      },
      onProgress: tty ? (p) => process.stderr.write(`\r\x1b[K${progressLine(p)}`) : () => {},
    });
    if (tty) process.stderr.write("\r\x1b[K");
    process.stdout.write(
      `imported ${summary.imported}, duplicates ${summary.duplicates}, rejected ${summary.rejected} (${formatBytes(summary.bytes)})\n`,
    );
    return summary.rejected > 0 ? EXIT.DATAERR : EXIT.OK;
  } finally {
    await outbox.close();
  }
}

async function* sourceOf(opts: PublishOptions): AsyncGenerator<ImportSource> {
  if (opts.mbox !== undefined) {
    for await (const m of readMbox(opts.mbox)) yield { where: `message ${m.index} of ${opts.mbox}`, body: m.body };
  } else if (opts.maildir !== undefined) {
    for await (const m of readMaildir(opts.maildir)) yield { where: m.path, body: m.body };
  }
}

function progressLine(p: ImportProgress): string {
  return `importing: ${p.imported + p.duplicates} messages (${formatBytes(p.bytes)}), ${p.duplicates} duplicates, ${p.rejected} rejected`;
}
