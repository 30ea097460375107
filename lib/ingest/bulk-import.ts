// Bulk import with group commit: messages are validated one by one and
// committed in batches (one fsync per batch). A bad message is reported and
// skipped; nothing valid is lost because of it.

import { errorMessage, InvalidMessageError } from "../errors.js";
import { acceptMessage, validateListName } from "../message/rfc5322.js";
import type { NewRecord, RecordLog } from "../store/record-log.js";

/** Messages per commit in a bulk import (the benchmark publishes in the same batches). */
export const IMPORT_BATCH = 1000;

export interface ImportSource {
  /** Where the message came from, for error reports ("message 12", a file name). */
  where: string;
  body: Buffer;
}

export interface ImportProgress {
  imported: number;
  duplicates: number;
  rejected: number;
  bytes: number;
}

export interface ImportOptions {
  list: string;
  maxSize: number;
  /** Commit after this many messages or bytes, whichever comes first. */
  batchMessages?: number;
  batchBytes?: number;
  onReject?: (where: string, reason: string) => void;
  onProgress?: (progress: ImportProgress) => void;
}

export async function bulkImport(
  records: Pick<RecordLog, "appendMany">,
  source: AsyncIterable<ImportSource>,
  options: ImportOptions,
): Promise<ImportProgress> {
  validateListName(options.list);
  const maxMessages = options.batchMessages ?? IMPORT_BATCH;
  const maxBytes = options.batchBytes ?? 32 * 1024 * 1024;
  const progress: ImportProgress = { imported: 0, duplicates: 0, rejected: 0, bytes: 0 };
  let batch: NewRecord[] = [];
  let batchBytes = 0;
  const flush = (): void => {
    if (batch.length === 0) return;
    for (const result of records.appendMany(batch)) {
      if (result.duplicate) progress.duplicates++;
      else progress.imported++;
    }
    progress.bytes += batchBytes;
    batch = [];
    batchBytes = 0;
    options.onProgress?.({ ...progress });
  };
  for await (const { where, body } of source) {
    try {
      const { messageId } = acceptMessage(body, options.maxSize);
      batch.push({ list: options.list, messageId, body });
      batchBytes += body.length;
    } catch (err) {
      if (!(err instanceof InvalidMessageError)) throw err;
      progress.rejected++;
      options.onReject?.(where, errorMessage(err));
      continue;
    }
    if (batch.length >= maxMessages || batchBytes >= maxBytes) flush();
  }
  flush();
  return progress;
}
