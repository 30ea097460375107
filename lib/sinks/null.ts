// null — stores nothing. For benchmarks and dry runs: the subscriber still
// commits its position durably and acknowledges, so only the sink's own
// cost is left out.

import type { Sink, SinkContext, SinkRecord } from "./sink.js";

export class NullSink implements Sink {
  readonly name = "null";
  async start(_context: SinkContext): Promise<void> {}
  async store(_records: readonly SinkRecord[]): Promise<void> {}
  async close(): Promise<void> {}
}
