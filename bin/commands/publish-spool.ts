// `mq-archive publish --spool DIR`: import the spool once, without a running
// `serve` (lib/ingest/spool.ts has the layout). Exit 0 when every file was
// imported or rejected, 75 when the outbox could not take them (they stay:
// run it again later), 74 when some file could not be read or removed.

import { formatBytes } from "../../lib/config/units.js";
import { EXIT, errorMessage, NoInputError, OutboxError } from "../../lib/errors.js";
import { emptySpoolSummary, importSpool, scanSpool, spoolModes, type SpoolSummary } from "../../lib/ingest/spool.js";
import { Outbox } from "../../lib/store/outbox.js";
import type { PublishOptions } from "../../lib/config/commands.js";

/**
 * How long the drain waits for another process's lock before giving up
 * with 75: long enough for any single commit or import batch, short
 * enough to say soon that something holds the outbox.
 */
const SPOOL_BUSY_TIMEOUT_MS = 5000;

export async function runSpoolImport(opts: PublishOptions & { spool: string }): Promise<number> {
  const dir = opts.spool;
  let modes;
  try {
    modes = await spoolModes(dir);
  } catch (err) {
    throw new NoInputError(`cannot read the spool ${dir}: ${errorMessage(err)}`, { cause: err });
  }
  const { files } = await scanSpool(dir);
  const summary = emptySpoolSummary();
  let outbox: Outbox | null = null;
  try {
    if (files.length > 0) {
      outbox = Outbox.open(opts.db, { busyTimeoutMs: SPOOL_BUSY_TIMEOUT_MS });
      await importSpool(outbox.records, dir, files, {
        maxSize: opts["max-size"],
        modes,
        onReject: (r) => process.stderr.write(`mq-archive: rejected ${r.entry.path}: ${r.reason} (kept as ${r.keptAt})\n`),
        onStuck: (entry, err) => process.stderr.write(`mq-archive: cannot import ${entry.path}: ${errorMessage(err)} (it stays)\n`),
      }, summary);
    }
  } catch (err) {
    if (!(err instanceof OutboxError)) throw err;
    const left = files.length - summary.imported - summary.duplicates - summary.rejected;
    process.stdout.write(summaryLine(summary, left));
    process.stderr.write(`mq-archive: the outbox cannot take the spool now: ${err.message}; nothing is lost, ${left} ${left === 1 ? "file waits" : "files wait"} in ${dir}: run this again later\n`);
    return EXIT.TEMPFAIL;
  } finally {
    await outbox?.close();
  }
  process.stdout.write(summaryLine(summary));
  return summary.stuck > 0 ? EXIT.IOERR : EXIT.OK;
}

function summaryLine(s: SpoolSummary, left = s.stuck): string {
  return `imported ${s.imported}, duplicates ${s.duplicates}, rejected ${s.rejected}, left ${left} (${formatBytes(s.bytes)})\n`;
}
