// The contract every sink keeps. A sink stores records in the order given,
// is idempotent per record (a redelivered record never becomes a second
// entry), and never leaves a torn entry behind a crash. It reports failure
// with a SinkError saying whether retrying can help; any other error is taken
// for a bug and handled as a permanent failure (see the deliverer).

import { InvalidMessageError, SinkError } from "../errors.js";
import type { Logger } from "../log.js";
import { validateListName } from "../message/rfc5322.js";
import type { BodyRecord, RecordKind } from "../message/record.js";

export interface SinkRecord extends BodyRecord {
  /** The outbox the record comes from. */
  outbox: string;
}

/** A sink's durable scratch space for crash recovery (the subscriber state implements it). */
export interface SinkJournal {
  get(): unknown;
  /** Durable (fsync'd) when the promise resolves. */
  set(value: unknown): Promise<void>;
}

export interface SinkContext {
  /** Durable scratch space for crash recovery, private to this sink. */
  journal: SinkJournal;
  /** At start: every record at or below this seq was stored by every sink and committed. */
  committed: number;
  /** The committed position now (it moves as batches commit). */
  position: () => number;
  /**
   * How many deliveries are committed now. The delivery a store() call is
   * part of commits as number `commits() + 1` (a retried store() of the same
   * delivery sees the same number).
   */
  commits: () => number;
  /** The outbox being followed, or null before the first session. */
  outbox: string | null;
  log: Logger;
  /**
   * Say that this sink cannot go on until a person fixes something (a wrong
   * key, a wrong address): the text says what and how; null says it goes on
   * again. Call it when that changes (repeats are ignored). The subscriber
   * logs each change once, keeps the text in its state file for `status
   * --state`, and logs the sink's retries meanwhile at debug only.
   */
  problem: (text: string | null) => void;
}

export interface Sink {
  /** "maildir:/srv/archive": names the sink in logs and dead letters. */
  readonly name: string;
  /** Prepare, and repair whatever a crash left (a torn mbox tail, say). */
  start(context: SinkContext): Promise<void>;
  /**
   * Store every record, in order, durably. On failure throw a SinkError whose
   * `stored` counts the records (from the front) that are durably stored.
   * Anything else thrown is an unexpected error: retried a bounded number of
   * times, one record at a time, then dead-lettered.
   */
  store(records: readonly SinkRecord[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Store the records up to the first one whose list name cannot be a file
 * name (a hostile or broken publisher), then report that one as a permanent
 * failure. `storeAll` stores all it is given or throws.
 */
export async function storeSafeLists(
  records: readonly SinkRecord[],
  storeAll: (records: readonly SinkRecord[]) => Promise<void>,
): Promise<void> {
  const bad = records.findIndex((r) => !isSafeList(r.list));
  const safe = bad < 0 ? records : records.slice(0, bad);
  if (safe.length > 0) await storeAll(safe);
  const record = records[bad];
  if (record !== undefined) {
    throw new SinkError(`list name ${JSON.stringify(record.list)} is not safe as a file name`, {
      transient: false,
      stored: bad,
    });
  }
}

/**
 * Store the records of one kind only, as storeSafeLists does: a message sink
 * passes events by and the events sink messages, and those count as stored
 * (acknowledged). A SinkError's `stored` is counted over the records given.
 */
export async function storeKind(
  kind: RecordKind,
  records: readonly SinkRecord[],
  storeAll: (records: readonly SinkRecord[]) => Promise<void>,
): Promise<void> {
  const mine = records.filter((r) => r.kind === kind);
  if (mine.length === records.length) return storeSafeLists(records, storeAll);
  if (mine.length === 0) return;
  try {
    await storeSafeLists(mine, storeAll);
  } catch (err) {
    if (!(err instanceof SinkError)) throw err;
    // Records before the first one not stored are stored or passed by.
    const next = mine[err.stored];
    const stored = next === undefined ? records.length : records.indexOf(next);
    throw new SinkError(err.message, { transient: err.transient, stored, cause: err });
  }
}

function isSafeList(list: string): boolean {
  try {
    validateListName(list);
    return true;
  } catch (err) {
    if (err instanceof InvalidMessageError) return false;
    throw err;
  }
}

/** File-system failures a person can fix (space, permissions, a missing mount) are worth waiting for. */
export function fsError(err: unknown, what: string): SinkError {
  const code = (err as { code?: string }).code ?? "";
  const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
  return new SinkError(message, { transient: code !== "ENAMETOOLONG" && code !== "EINVAL", cause: err });
}
