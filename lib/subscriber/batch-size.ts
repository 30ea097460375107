// How many records the deliverer hands its sinks at once. Fast sinks take
// large batches (one commit for many records); a slow one (a command per
// record: 30–50 ms each on a small VM) gets batches it stores in about
// TARGET_MS, so the peer commits and acknowledges steadily. Handing a slow
// sink 2,048 records took it 30–50 s before one ack: the publisher rewound
// and resent its stream meanwhile (3–5 copies of each record arrived), and a
// kill threw away half a minute of work.

/** How long one batch should take to store, about. */
const TARGET_MS = 250;

export class BatchSize {
  /** Milliseconds per record, smoothed over recent batches (0: not measured yet). */
  private msPerRecord = 0;

  constructor(private readonly max: number) {}

  /** The next batch's largest size. */
  get next(): number {
    if (this.msPerRecord === 0) return this.max;
    return Math.max(1, Math.min(this.max, Math.floor(TARGET_MS / this.msPerRecord)));
  }

  /** A batch of `records` took `ms` to store in every sink. */
  took(records: number, ms: number): void {
    if (records === 0) return;
    const sample = ms / records;
    this.msPerRecord = this.msPerRecord === 0 ? sample : (this.msPerRecord + sample) / 2;
  }
}
