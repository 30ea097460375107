// The spool: where Mailman's plugin puts a post it could not commit to the
// outbox (issue 14), and the import that moves it in. This module owns the
// layout; a plugin writing the spool follows it:
//
//   DIR/lists/<list>/tmp/<name>               a message being written: never read here
//   DIR/lists/<list>/new/<name>               a message waiting, its bytes exactly as Mailman gave them
//   DIR/events/tmp/<name>                     a list event being written
//   DIR/events/new/<name>                     a list event waiting: its JSON, as `publish --event` takes it, with its "id"
//   DIR/rejected/lists/<list>/<name>          a message refused for good (what `publish` exits 65 for)
//   DIR/rejected/events/<name>                an event refused for good
//   DIR/rejected/.../<name>.reason            why, one line: "<CODE>: <message>"
//
// <list> is the list's name (letters, digits and . _ @ + = -, at most 255
// bytes, not starting with a symbol): a directory per list, because a name
// that long leaves no room for anything else in a file name. A writer
// creates lists/<list>/tmp/ and new/ when missing, writes the whole message
// into tmp/<name>, fsyncs it, renames it into new/<name> and fsyncs new/
// (Maildir delivery: a file in new/ is always complete). <name> is unique
// and starts with the time in milliseconds, `<unix-ms>.<pid>_<n>.<host>`;
// it never starts with "." nor ends in ".reason". Directories are 0700 (0770
// in a spool whose directory its group may use), files 0600 (0660). Events
// are delivered the same way into events/; a spooled event must carry its
// "id" (an import repeated after a crash would otherwise store it twice).
//
// An import takes the files oldest name first (so each list's messages and
// events in the order they were spooled), accepts and deduplicates each
// exactly as `publish` (or `publish --event`) does (list name, RFC 5322
// checks, --max-size, one record per list and Message-ID or event id),
// commits a batch in one fsync'd transaction, and only then unlinks its
// files: a crash in between imports them again, which the dedupe makes a
// no-op. A file refused for good moves to rejected/ beside its reason; one
// that cannot be read (or removed) stays where it is and is reported.

import { open, readdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage, InvalidMessageError } from "../errors.js";
import { parseEvent, type EventDefaults } from "../message/event.js";
import type { RecordKind } from "../message/record.js";
import { acceptMessage, validateListName } from "../message/rfc5322.js";
import { ensureDirectory, syncDirectory, writeFileDurably, type Modes } from "../sinks/fs-util.js";
import type { NewRecord, RecordLog } from "../store/record-log.js";

export const SPOOL_LISTS = "lists";
export const SPOOL_EVENTS = "events";
export const SPOOL_REJECTED = "rejected";
export const REASON_SUFFIX = ".reason";
/** A file older than this in a tmp/ is reported: its writer most likely died mid-write. */
export const STALE_TMP_MS = 36 * 3_600_000;
/** A commit takes at most this many files or bytes (a larger single file goes alone). */
export const SPOOL_BATCH_FILES = 64;
export const SPOOL_BATCH_BYTES = 8 * 1024 * 1024;

/** One waiting file. */
export interface SpoolEntry {
  kind: RecordKind;
  /** The list of a message ("" for an event: its list is in its JSON). */
  list: string;
  name: string;
  path: string;
}

export interface SpoolRejection {
  entry: SpoolEntry;
  /** Where the file is kept now (its reason beside it, `${keptAt}.reason`). */
  keptAt: string;
  code: string;
  reason: string;
}

export interface SpoolSummary {
  imported: number;
  duplicates: number;
  rejected: number;
  /** Files left where they were: unreadable, or not removable after their commit. */
  stuck: number;
  bytes: number;
}

export interface SpoolImportOptions {
  maxSize: number;
  modes: Modes;
  batchFiles?: number;
  batchBytes?: number;
  onReject?: (rejection: SpoolRejection) => void;
  onStuck?: (entry: SpoolEntry, err: unknown) => void;
  /** Awaited between commits; false stops the import (a daemon closing). */
  between?: () => Promise<boolean>;
}

export function emptySpoolSummary(): SpoolSummary {
  return { imported: 0, duplicates: 0, rejected: 0, stuck: 0, bytes: 0 };
}

/**
 * The modes of what the daemon creates in the spool: owner-only, plus what
 * the spool directory's group may do (a Mailman plugin running as another
 * user of that group must write there). Never anything for others.
 */
export async function spoolModes(dir: string): Promise<Modes> {
  const mode = (await stat(dir)).mode;
  return { directory: 0o700 | (mode & 0o070), file: 0o600 | (mode & 0o060) };
}

/** Create the spool (owner-only when new) and its fixed directories; returns the modes to use in it. */
export async function prepareSpool(dir: string): Promise<Modes> {
  await ensureDirectory(dir, 0o700);
  const modes = await spoolModes(dir);
  for (const sub of [[SPOOL_LISTS], [SPOOL_EVENTS, "tmp"], [SPOOL_EVENTS, "new"], [SPOOL_REJECTED, SPOOL_LISTS]]) {
    await ensureDirectory(join(dir, ...sub), modes.directory);
  }
  return modes;
}

/** Time-prefixed names by their number first (a longer number is later), then as text. */
export function compareSpoolNames(a: string, b: string): number {
  const na = /^\d+/.exec(a)?.[0] ?? "";
  const nb = /^\d+/.exec(b)?.[0] ?? "";
  if (na.length !== nb.length) return na.length - nb.length;
  return na < nb ? -1 : na > nb ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

/** The list directories, and every waiting message and event, oldest name first. */
export async function scanSpool(dir: string): Promise<{ lists: string[]; files: SpoolEntry[] }> {
  const listsDir = join(dir, SPOOL_LISTS);
  const lists = (await entries(listsDir)).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const files: SpoolEntry[] = [];
  const add = async (kind: RecordKind, list: string, newDir: string): Promise<void> => {
    for (const e of (await entries(newDir)).filter(isSpoolFile)) files.push({ kind, list, name: e.name, path: join(newDir, e.name) });
  };
  for (const list of lists) await add("message", list, join(listsDir, list, "new"));
  await add("event", "", join(dir, SPOOL_EVENTS, "new"));
  files.sort((a, b) => compareSpoolNames(a.name, b.name) || (a.list < b.list ? -1 : a.list > b.list ? 1 : 0));
  return { lists, files };
}

/** A directory's entries; none when it does not exist (yet). */
export async function entries(dir: string): Promise<import("node:fs").Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw err;
  }
}

export function isSpoolFile(e: import("node:fs").Dirent): boolean {
  return e.isFile() && !e.name.startsWith(".");
}

/**
 * Import `files` into the outbox, in batches, in the order given. Counts go
 * into `summary` as each batch commits, so a caller whose import failed
 * (an OutboxError, thrown as is: nothing of that batch was unlinked) still
 * knows what went in before.
 */
export async function importSpool(
  records: Pick<RecordLog, "appendMany">,
  dir: string,
  files: readonly SpoolEntry[],
  options: SpoolImportOptions,
  summary: SpoolSummary = emptySpoolSummary(),
): Promise<SpoolSummary> {
  const maxFiles = options.batchFiles ?? SPOOL_BATCH_FILES;
  const maxBytes = options.batchBytes ?? SPOOL_BATCH_BYTES;
  let batch: Array<{ entry: SpoolEntry; record: NewRecord }> = [];
  let bytes = 0;
  const commit = async (): Promise<void> => {
    if (batch.length === 0) return;
    for (const result of records.appendMany(batch.map((b) => b.record))) {
      if (result.duplicate) summary.duplicates++;
      else summary.imported++;
    }
    summary.bytes += bytes;
    const committed = batch;
    batch = [];
    bytes = 0;
    for (const { entry } of committed) {
      await unlink(entry.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return; // another drain got there first
        summary.stuck++;
        options.onStuck?.(entry, err);
      });
    }
  };
  for (const entry of files) {
    try {
      const body = await readSpoolFile(entry.path, options.maxSize);
      if (body === null) continue; // gone: another drain imported it
      batch.push({ entry, record: acceptSpooled(entry, body, options.maxSize) });
      bytes += body.length;
    } catch (err) {
      if (err instanceof InvalidMessageError) await reject(dir, entry, err, options, summary);
      else {
        summary.stuck++;
        options.onStuck?.(entry, err);
      }
      continue;
    }
    if (batch.length >= maxFiles || bytes >= maxBytes) {
      await commit();
      if (options.between && !(await options.between())) return summary;
    }
  }
  await commit();
  return summary;
}

/**
 * What `publish` checks, in the same order with the same errors: the list,
 * then the message; or what `publish --event` checks.
 */
function acceptSpooled(entry: SpoolEntry, body: Buffer, maxSize: number): NewRecord {
  if (entry.kind === "event") {
    const { list, messageId, body: json } = parseEvent(body, SPOOLED_EVENT_DEFAULTS);
    return { kind: "event", list, messageId, body: json };
  }
  validateListName(entry.list);
  return { list: entry.list, messageId: acceptMessage(body, maxSize).messageId, body };
}

/** A spooled event must carry its id; one without a time gets the import's. */
const SPOOLED_EVENT_DEFAULTS: EventDefaults = {
  id: () => {
    throw new InvalidMessageError("BAD_EVENT", "a spooled event needs its \"id\" (an import repeated after a crash would store it twice)");
  },
  at: () => new Date().toISOString(),
};

/** The file's bytes, null when it is gone. A file over the limit is refused unread. */
async function readSpoolFile(path: string, maxSize: number): Promise<Buffer | null> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size > maxSize) {
      throw new InvalidMessageError("TOO_LARGE", `the message is ${size} bytes, over the limit of ${maxSize} bytes (--max-size)`);
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

async function reject(dir: string, entry: SpoolEntry, err: InvalidMessageError, options: SpoolImportOptions, summary: SpoolSummary): Promise<void> {
  try {
    const keptAt = await moveToRejected(dir, entry, `${err.code}: ${err.message}`, options.modes);
    summary.rejected++;
    options.onReject?.({ entry, keptAt, code: err.code, reason: err.message });
  } catch (moveErr) {
    summary.stuck++;
    options.onStuck?.(entry, new Error(`refused (${errorMessage(err)}) but cannot be moved to ${SPOOL_REJECTED}/: ${errorMessage(moveErr)}`, { cause: moveErr }));
  }
}

/**
 * The reason is written (fsync'd) before the file moves: a crash in between
 * leaves the file waiting, to be refused again, never a rejected file
 * without its reason.
 */
async function moveToRejected(dir: string, entry: SpoolEntry, reason: string, modes: Modes): Promise<string> {
  const into = entry.kind === "event" ? join(dir, SPOOL_REJECTED, SPOOL_EVENTS) : join(dir, SPOOL_REJECTED, SPOOL_LISTS, entry.list);
  await ensureDirectory(into, modes.directory);
  const keptAt = join(into, entry.name);
  await writeFileDurably(`${keptAt}${REASON_SUFFIX}`, Buffer.from(`${reason.replace(/[\r\n]+/g, " ")}\n`), modes.file);
  try {
    await rename(entry.path, keptAt);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err; // else another drain moved it
  }
  await syncDirectory(into);
  return keptAt;
}
