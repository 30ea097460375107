// Stores released records, in order, in every sink, then commits the state
// and reports the new position (which the subscriber acknowledges): skip
// Message-IDs already archived → every sink stores (each with its own
// retries) → one durable commit for a group of batches → ack. A transient failure is
// retried with backoff for as long as it takes; a permanent one a bounded
// number of times, then the record becomes a dead letter for that sink and
// the list goes on. An error that is not a SinkError (a bug, a value the sink
// cannot handle) is counted, logged and treated as permanent: retrying it
// forever would stall the list without anyone knowing why.

import { errorMessage, SinkError, StateError } from "../errors.js";
import { RateLimiter, type Logger } from "../log.js";
import type { Sink, SinkRecord } from "../sinks/sink.js";
import { archiveKey, type ArchivedEntry } from "../store/archived.js";
import type { DeadLetterInput, SubscriberState } from "../store/state.js";
import { BatchSize } from "./batch-size.js";
import { newSinkStats, type SinkStats } from "./counters.js";
import { retryDeadLetters } from "./dead-letter-retry.js";
import { Fifo } from "./fifo.js";
import { Aborted, storeInSink } from "./sink-attempts.js";

/** A released entry: a record to store, or a pass that only moves the position. */
export type Released = { type: "record"; record: SinkRecord } | { type: "pass"; seq: number };

export interface DelivererOptions {
  state: SubscriberState;
  sinks: readonly Sink[];
  log: Logger;
  /** Attempts for a permanently failing record before it is dead-lettered. */
  maxAttempts: number;
  maxBatch?: number;
  maxBatchBytes?: number;
  /** Commit a group of stored records at the latest this long after its first. */
  maxCommitDelayMs?: number;
  /**
   * Whether records after `position` exist that have not arrived yet (the
   * publisher's head is ahead): then a group waits for them, up to
   * maxCommitDelayMs, instead of committing each time the queue runs dry.
   */
  moreComing?: (position: number) => boolean;
  /** Whether a sink reported a problem a person must fix (its retries are then logged at debug: the problem said why). */
  paused?: (sink: string) => boolean;
  /** Backoff bounds for retries (ms). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** The next `count` entries pushed, in push order, are stored in every sink: their bodies may leave memory (not yet committed). */
  onStored: (count: number) => void;
  /** Everything up to `position` is committed. */
  onCommitted: (position: number) => void;
  /** The deliverer cannot go on (the state database failed). */
  onFatal: (err: Error) => void;
  /** Each store() call that returned, with its duration (metrics). */
  onStoreTime?: (sink: string, seconds: number) => void;
}


/** At most one log line per sink for unexpected errors in this time (ms); each dead letter is still logged. */
const UNEXPECTED_LOG_MS = 60_000;

export class Deliverer {
  private readonly queue = new Fifo<Released>();
  private wake: (() => void) | null = null;
  private closing = false;
  private readonly loop: Promise<void>;
  private readonly sleepers = new Set<() => void>();
  private retriesRequested = false;
  private unexpected = 0;
  /** Per sink, by name: what it stored, retried and set aside. */
  readonly sinkStats = new Map<string, SinkStats>();
  private readonly batchSize: BatchSize;
  private readonly unexpectedLogs = new RateLimiter(UNEXPECTED_LOG_MS);
  /** Stored in every sink, not yet committed. */
  private pending: { position: number; count: number; archived: ArchivedEntry[]; deadLetters: DeadLetterInput[]; since: number } | null =
    null;

  constructor(private readonly o: DelivererOptions) {
    this.batchSize = new BatchSize(o.maxBatch ?? 2048);
    this.loop = this.run();
  }

  /** Errors sinks threw that were not SinkErrors (each a failed attempt of a permanent kind). */
  get unexpectedErrors(): number {
    return this.unexpected;
  }

  push(entries: readonly Released[]): void {
    if (entries.length === 0) return;
    for (const e of entries) this.queue.push(e);
    this.wake?.();
  }

  /** Try the dead letters an operator marked for retry, between batches (sinks store one thing at a time). */
  requestRetries(): void {
    this.retriesRequested = true;
    this.wake?.();
  }

  /** Stop after the batch in hand is committed or abandoned (it will be redelivered). */
  async close(): Promise<void> {
    this.closing = true;
    this.wake?.();
    for (const wake of this.sleepers) wake();
    await this.loop;
    await this.durable;
  }

  /**
   * Hand records to the sinks as soon as they arrive; commit in groups. A
   * group is committed when no more records are waiting, or when it is
   * large or old enough: one fsync serves many records without delaying
   * any hand-off.
   */
  private async run(): Promise<void> {
    try {
      while (!this.closing) {
        if (this.retriesRequested && this.pending === null) {
          this.retriesRequested = false;
          await retryDeadLetters({ ...this.o, closing: () => this.closing, patiently: (write) => this.patiently(write) });
          continue;
        }
        if (this.queue.length === 0) {
          if (this.pending !== null) {
            if (!(await this.waitForMore(this.pending))) await this.commitPending();
          } else {
            await new Promise<void>((resolve) => (this.wake = resolve));
            this.wake = null;
          }
          continue;
        }
        const batch = this.takeBatch();
        this.storing = batch.length;
        const started = performance.now();
        try {
          await this.store(batch);
        } finally {
          this.storing = 0;
        }
        this.batchSize.took(batch.length, performance.now() - started);
        const p = this.pending!;
        if (p.count >= this.maxBatch || Date.now() - p.since >= this.maxDelayMs) await this.commitPending();
        else await new Promise((resolve) => setImmediate(resolve)); // let the sockets fill the queue
      }
      if (this.pending !== null) await this.commitPending(); // stored before the close: commit it
    } catch (err) {
      if (err instanceof Aborted) return;
      this.closing = true;
      this.o.onFatal(err as Error);
    }
  }

  /**
   * While catching up, records come in chunks and the queue runs dry between
   * them: committing at each would cost an fsync per chunk (with 256 KiB
   * chunks, 470 commits instead of 271 for 50,000 records). Wait for the
   * next chunk instead, within the group's commit delay. Live, the head is
   * the last record stored and the group commits at once. True if records
   * arrived meanwhile.
   */
  private async waitForMore(p: { position: number; since: number }): Promise<boolean> {
    const left = this.maxDelayMs - (Date.now() - p.since);
    if (left <= 0 || this.o.moreComing?.(p.position) !== true) return false;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      timer = setTimeout(resolve, left);
    });
    clearTimeout(timer);
    this.wake = null;
    return this.queue.length > 0 || this.retriesRequested;
  }

  private takeBatch(): Released[] {
    const max = this.batchSize.next;
    const maxBytes = this.o.maxBatchBytes ?? 4 * 1024 * 1024;
    const batch: Released[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && batch.length < max && bytes < maxBytes) {
      const e = this.queue.shift()!;
      if (e.type === "record") bytes += e.record.body.length;
      batch.push(e);
    }
    return batch;
  }

  private get maxBatch(): number {
    return this.o.maxBatch ?? 2048;
  }

  private get maxDelayMs(): number {
    return this.o.maxCommitDelayMs ?? 10;
  }

  /** Store a batch in every sink; it joins the group awaiting commit. */
  private async store(batch: Released[]): Promise<void> {
    const records: SinkRecord[] = [];
    const keys: Buffer[] = [];
    for (const e of batch) {
      if (e.type !== "record") continue;
      const key = archiveKey(e.record.messageId);
      const archivedAs = this.o.state.findArchived(e.record.list, e.record.messageId, key);
      if (archivedAs === undefined) {
        records.push(e.record);
        keys.push(key);
      } else {
        this.o.log.info(
          { seq: e.record.seq, list: e.record.list, messageId: e.record.messageId, archivedAs },
          "already archived under this Message-ID; not archiving it again",
        );
      }
    }
    const deadLetters = (await Promise.all(this.o.sinks.map((sink) => this.storeAll(sink, records)))).flat();
    const archived = records.map((r, i) => ({ list: r.list, messageId: r.messageId, seq: r.seq, key: keys[i]! }));
    const last = batch[batch.length - 1]!;
    if (this.pending === null) this.pending = { position: 0, count: 0, archived: [], deadLetters: [], since: Date.now() };
    this.pending.position = last.type === "record" ? last.record.seq : last.seq;
    this.pending.count += batch.length;
    this.pending.archived.push(...archived);
    this.pending.deadLetters.push(...deadLetters);
    this.o.onStored(batch.length);
  }

  /**
   * Commit the group (fast: no fsync), then, without holding up the next
   * hand-offs, wait for the state to be on disk and report it committed.
   * Reports stay in order.
   */
  private async commitPending(): Promise<void> {
    const p = this.pending!;
    // Tried even while closing (the group is stored: its commit should land); a full disk or a lock is
    // waited out unless closing, when the group is left uncommitted and comes again after the restart.
    await this.patiently(() => this.o.state.commit({ position: p.position, archived: p.archived, deadLetters: p.deadLetters }));
    this.pending = null;
    this.durable = this.durable
      .then(() => this.o.state.sync())
      .then(() => this.o.onCommitted(p.position))
      .catch((err: Error) => {
        if (!this.closing) {
          this.closing = true;
          this.o.onFatal(err);
        }
      });
  }

  /** Records of the batch inside store() now (taken off the queue, not yet pending). */
  private storing = 0;

  /** Reports of durable commits, chained in order. */
  private durable: Promise<void> = Promise.resolve();

  /** Records waiting, being stored, or stored and not committed yet (--accept-outbox waits for none). */
  get inFlight(): number {
    return this.queue.length + this.storing + (this.pending?.count ?? 0);
  }

  /** Run a state write, waiting out a full disk or a lock; gives up (Aborted) only when closing. */
  private async patiently(write: () => void): Promise<void> {
    for (let failures = 1; ; failures++) {
      try {
        write();
        return;
      } catch (err) {
        if (!(err instanceof StateError) || !err.retryable) throw err;
        if (this.closing) throw new Aborted();
        const delay = this.backoff(failures);
        this.o.log.warn({ err, retryInMs: delay }, "cannot commit the state yet; will retry");
        await this.sleep(delay);
      }
    }
  }

  /** Store every record in one sink, retrying as the failure deserves. Returns its dead letters. */
  private storeAll(sink: Sink, records: readonly SinkRecord[]): Promise<DeadLetterInput[]> {
    return storeInSink(sink, records, {
      log: this.o.log,
      maxAttempts: this.o.maxAttempts,
      stats: this.statsOf(sink.name),
      closing: () => this.closing,
      paused: () => this.o.paused?.(sink.name) === true,
      unexpected: (slice, err) => this.unexpectedError(sink, slice, err),
      backoff: (failures) => this.backoff(failures),
      sleep: (ms) => this.sleep(ms),
      ...(this.o.onStoreTime ? { onStoreTime: this.o.onStoreTime } : {}),
    });
  }

  private statsOf(sink: string): SinkStats {
    let stats = this.sinkStats.get(sink);
    if (stats === undefined) this.sinkStats.set(sink, (stats = newSinkStats()));
    return stats;
  }

  /** Count and log (rate-limited) an error a sink threw that is not a SinkError; it is retried as a permanent failure. */
  private unexpectedError(sink: Sink, slice: readonly SinkRecord[], err: unknown): SinkError {
    this.unexpected++;
    const suppressed = this.unexpectedLogs.allow(sink.name);
    if (suppressed !== null) {
      this.o.log.error(
        { sink: sink.name, seq: slice[0]?.seq, records: slice.length, unexpectedErrors: this.unexpected, suppressed, err },
        "unexpected error in a sink (not a SinkError): treated as a permanent failure, dead-lettered after the retries",
      );
    }
    return new SinkError(`unexpected error in ${sink.name}: ${errorMessage(err)}`, { transient: false, cause: err });
  }

  private backoff(failures: number): number {
    const min = this.o.retryMinMs ?? 100;
    const max = this.o.retryMaxMs ?? 30_000;
    return Math.min(max, min * 2 ** Math.min(failures - 1, 20));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }
}
