// One sink's attempts at a batch, for the deliverer: store, and on failure
// retry as the failure deserves. Temporary: with backoff, for as long as it
// takes, in order. Permanent: `maxAttempts` times, then the record is a dead
// letter for this sink and the list goes on. An error that is not a
// SinkError does not say which record failed: the rest of the batch then
// goes one record at a time.

import { SinkError, StateError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Sink, SinkRecord } from "../sinks/sink.js";
import type { DeadLetterInput } from "../store/state.js";
import { countStored, type SinkStats } from "./counters.js";

/** The deliverer is closing: the batch in hand is abandoned (it comes again after the restart). */
export class Aborted extends Error {}

export interface SinkAttempts {
  log: Logger;
  maxAttempts: number;
  /** This sink's counters. */
  stats: SinkStats;
  closing: () => boolean;
  /** Whether the sink reported a problem a person must fix (its retries are then logged at debug). */
  paused: () => boolean;
  /** Count and log an error that is not a SinkError; it comes back as a permanent SinkError. */
  unexpected: (slice: readonly SinkRecord[], err: unknown) => SinkError;
  backoff: (failures: number) => number;
  sleep: (ms: number) => Promise<void>;
  onStoreTime?: (sink: string, seconds: number) => void;
}

/** Store every record in one sink, retrying as the failure deserves. Returns its dead letters. */
export async function storeInSink(sink: Sink, records: readonly SinkRecord[], d: SinkAttempts): Promise<DeadLetterInput[]> {
  const dead: DeadLetterInput[] = [];
  let done = 0;
  let attempts = 0;
  let failures = 0;
  // An unexpected error does not say which record failed: the rest of the batch goes one record at a time.
  let oneByOne = false;
  const stats = d.stats;
  while (done < records.length) {
    if (d.closing()) throw new Aborted();
    const slice = oneByOne ? records.slice(done, done + 1) : records.slice(done);
    let e: SinkError;
    let unexpected = false;
    const started = performance.now();
    try {
      await sink.store(slice);
      d.onStoreTime?.(sink.name, (performance.now() - started) / 1000);
      countStored(stats, slice);
      done += slice.length;
      attempts = 0;
      failures = 0;
      continue;
    } catch (err) {
      unexpected = !(err instanceof SinkError || err instanceof StateError);
      e = unexpected ? d.unexpected(slice, err) : classified(err);
      if (unexpected && slice.length > 1) {
        oneByOne = true; // not an attempt of any one record yet
        continue;
      }
    }
    d.onStoreTime?.(sink.name, (performance.now() - started) / 1000);
    if (e.stored > 0) {
      countStored(stats, slice.slice(0, e.stored));
      done += Math.min(e.stored, slice.length);
      attempts = 0;
      failures = 0; // the backoff is per record: a new failing record starts short
    }
    if (e.transient) stats.failingSince ??= Date.now();
    const record = records[done];
    if (record === undefined) return dead;
    failures++;
    if (!e.transient && ++attempts >= d.maxAttempts) {
      d.log.error(
        { sink: sink.name, seq: record.seq, list: record.list, messageId: record.messageId, attempts, err: e },
        "permanent failure: set aside as a dead letter; the list goes on",
      );
      dead.push({ ...record, sink: sink.name, error: e.message, attempts });
      stats.deadLetters++;
      stats.failingSince = null; // the list goes on
      done++;
      attempts = 0;
      failures = 0;
      continue;
    }
    stats.retries++;
    const delay = d.backoff(failures);
    if (!unexpected) {
      d.log[d.paused() ? "debug" : "warn"](
        { sink: sink.name, seq: record.seq, list: record.list, transient: e.transient, attempt: attempts, retryInMs: delay, err: e },
        e.transient ? "temporary sink failure; will retry" : "sink failure; will retry",
      );
    }
    await d.sleep(delay);
  }
  return dead;
}

/**
 * A SinkError as it is; the state file's trouble met in a sink's journal is
 * the state's: a full disk or a lock is waited out like a temporary failure,
 * anything worse is fatal, as it is for a commit.
 */
function classified(err: unknown): SinkError {
  if (err instanceof SinkError) return err;
  if (err instanceof StateError && err.retryable) return new SinkError(err.message, { transient: true, cause: err });
  throw err;
}
