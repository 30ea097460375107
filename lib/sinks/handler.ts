// A sink around a function, for custom archivers using the library: the
// record is stored when the promise resolves. Throw a SinkError to say
// whether retrying can help; any other error is treated as temporary, so a
// bug never loses a message (it is retried with backoff and logged).

import { SinkError } from "../errors.js";
import { storeSafeLists, type Sink, type SinkContext, type SinkRecord } from "./sink.js";

export type RecordHandler = (record: SinkRecord) => Promise<void> | void;

export class HandlerSink implements Sink {
  constructor(
    private readonly handler: RecordHandler,
    readonly name = "handler",
  ) {}

  async start(_context: SinkContext): Promise<void> {}

  async store(records: readonly SinkRecord[]): Promise<void> {
    await storeSafeLists(records, (safe) => this.handleAll(safe));
  }

  private async handleAll(records: readonly SinkRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i++) {
      try {
        await this.handler(records[i]!);
      } catch (err) {
        const transient = err instanceof SinkError ? err.transient : true;
        const message = err instanceof Error ? err.message : String(err);
        throw new SinkError(message, { transient, stored: i, cause: err });
      }
    }
  }

  async close(): Promise<void> {}
}
