// Lets library users consume records with `for await`: each record is a
// Delivery, and the batch it belongs to is committed (and acknowledged to the
// publisher) once every delivery in it has been acked.

import { SinkError } from "../errors.js";
import type { Sink, SinkContext, SinkRecord } from "../sinks/sink.js";

export interface Delivery extends SinkRecord {
  /** Mark this record as safely stored. */
  ack(): Promise<void>;
}

export class IteratorSink implements Sink {
  readonly name = "iterator";
  private readonly ready: Delivery[] = [];
  private takers: Array<(d: IteratorResult<Delivery>) => void> = [];
  private abandon: Array<() => void> = [];
  private done = false;

  async start(_context: SinkContext): Promise<void> {}

  async store(records: readonly SinkRecord[]): Promise<void> {
    if (this.done) throw new SinkError("the iterator was closed", { transient: true });
    const acks = records.map(
      (record) =>
        new Promise<void>((resolve, reject) => {
          const abandon = (): void => reject(new SinkError("closed before the record was acked", { transient: true }));
          this.abandon.push(abandon);
          this.hand({
            ...record,
            ack: async () => {
              this.abandon = this.abandon.filter((a) => a !== abandon);
              resolve();
            },
          });
        }),
    );
    await Promise.all(acks);
  }

  private hand(delivery: Delivery): void {
    const taker = this.takers.shift();
    if (taker) taker({ value: delivery, done: false });
    else this.ready.push(delivery);
  }

  next(): Promise<IteratorResult<Delivery>> {
    const ready = this.ready.shift();
    if (ready) return Promise.resolve({ value: ready, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.takers.push(resolve));
  }

  async close(): Promise<void> {
    this.done = true;
    for (const taker of this.takers) taker({ value: undefined, done: true });
    this.takers = [];
    for (const abandon of this.abandon) abandon();
    this.abandon = [];
    this.ready.length = 0;
  }
}
