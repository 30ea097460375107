// outbox:PATH — relay: keep every record stored in an outbox of this host's
// own, under the origin's identity (store/relay-log.ts), for `serve --db
// PATH` to serve to downstream peers (mirrors, mirrors of mirrors) with the
// same protocol, keys and grants as the origin. Messages and list events
// alike. A record is relayed only once it is in this outbox: store()
// returns after the transaction is on disk (synchronous=FULL), and only
// then does the subscriber acknowledge it upstream. Retention follows the
// relay's own peers, as on the origin (serve prunes what they acknowledged).
//
// Where the relay starts is its floor: a downstream peer that needs older
// records is sent to another endpoint (the origin) instead of skipping them.

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { OutboxError, SinkError } from "../errors.js";
import { Outbox } from "../store/outbox.js";
import { storeSafeLists, type Sink, type SinkContext, type SinkRecord } from "./sink.js";

export class OutboxSink implements Sink {
  readonly name: string;
  private outbox: Outbox | null = null;
  private context: SinkContext | null = null;

  constructor(private readonly path: string) {
    this.name = `outbox:${path}`;
  }

  /** An outbox holding records of its own, or relaying another origin, stops the start (exit 73). */
  async start(context: SinkContext): Promise<void> {
    this.context = context;
    mkdirSync(dirname(this.path), { recursive: true });
    const outbox = Outbox.open(this.path, { create: true });
    try {
      outbox.relay.claim(context.outbox);
    } catch (err) {
      await outbox.close();
      throw err;
    }
    this.outbox = outbox;
    context.log.info({ relay: this.path, origin: context.outbox, floor: outbox.relay.floor() }, "relaying into an outbox of our own");
  }

  async store(records: readonly SinkRecord[]): Promise<void> {
    const outbox = this.outbox;
    if (outbox === null) throw new SinkError(`${this.name} used before start()`, { transient: true });
    await storeSafeLists(records, async (all) => this.append(outbox, all));
  }

  private append(outbox: Outbox, records: readonly SinkRecord[]): void {
    try {
      // The first records relayed: nothing at or below the position before them will come through
      // here (a subscriber that started later, or with --start), so downstream peers get those elsewhere.
      if (outbox.records.head() === 0) outbox.relay.begin(this.context?.position() ?? 0);
      outbox.relay.append(records);
      this.context?.problem(null);
    } catch (err) {
      if (!(err instanceof OutboxError)) throw err;
      // Every record would fail alike (another origin, a full disk, a lock): wait, and say why once.
      if (err.code === "OUTBOX_UNUSABLE") this.context?.problem(err.message);
      throw new SinkError(err.message, { transient: true, stored: 0, cause: err });
    }
  }

  async close(): Promise<void> {
    await this.outbox?.close();
    this.outbox = null;
  }
}
