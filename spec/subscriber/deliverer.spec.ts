// The deliverer against a real state file and a small sink of the test's
// own (a stand-in for a library user's custom sink, which is outside the
// project): how failures a sink does not classify are handled.

import { expect } from "chai";
import { join } from "node:path";
import { pino } from "pino";
import type { Sink, SinkRecord } from "../../lib/sinks/sink.js";
import { SubscriberState } from "../../lib/store/state.js";
import { Deliverer, type Released } from "../../lib/subscriber/deliverer.js";
import { OUTBOX, sinkRecord } from "../sinks/records.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

/** A sink that stores in order and throws a plain TypeError (a bug, not a SinkError) on the seqs in `poison`. */
class BuggySink implements Sink {
  readonly name = "buggy";
  readonly stored: number[] = [];
  calls = 0;

  constructor(private readonly poison: ReadonlySet<number>) {}

  async start(): Promise<void> {}

  async store(records: readonly SinkRecord[]): Promise<void> {
    this.calls++;
    for (const r of records) {
      if (this.poison.has(r.seq)) throw new TypeError(`cannot read properties of undefined (reading 'x') at seq ${r.seq}`);
      if (!this.stored.includes(r.seq)) this.stored.push(r.seq);
    }
  }

  async close(): Promise<void> {}
}

const released = (from: number, to: number): Released[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ type: "record" as const, record: sinkRecord("dev", from + i) }));

describe("Deliverer", () => {
  const opened: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
  });

  function deliverer(sink: Sink, maxAttempts: number) {
    const state = SubscriberState.open(join(tempDir(), "state.db"));
    opened.push(state);
    state.adoptOutbox(OUTBOX);
    const logs: Array<Record<string, unknown>> = [];
    const log = pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    let committed = 0;
    let fatal: Error | null = null;
    const d = new Deliverer({
      state,
      sinks: [sink],
      log,
      maxAttempts,
      retryMinMs: 1,
      retryMaxMs: 10,
      onStored: () => {},
      onCommitted: (position) => (committed = position),
      onFatal: (err) => (fatal = err),
    });
    opened.push(d);
    return { d, state, logs, committed: () => committed, fatal: () => fatal };
  }

  // Regression test (issue 12, finding 4): an error that was not a SinkError was retried as temporary forever, and the list never moved past it.
  it("dead-letters a record its sink fails with an unexpected error after the bounded attempts, counts and logs it, and goes on", async () => {
    const sink = new BuggySink(new Set([3]));
    const t = deliverer(sink, 3);
    t.d.push(released(1, 5));
    await waitFor(() => t.committed() === 5, { what: "position 5 committed" });
    t.d.push(released(6, 7));
    await waitFor(() => t.committed() === 7, { what: "position 7 committed" });

    expect(sink.stored, "every other record, in order").to.deep.equal([1, 2, 4, 5, 6, 7]);
    const dead = t.state.deadLetters();
    expect(dead.map((x) => [x.sink, x.seq, x.attempts])).to.deep.equal([["buggy", 3, 3]]);
    expect(dead[0]!.error).to.include("unexpected error in buggy").and.to.include("cannot read properties of undefined");
    expect(dead[0]!.body.equals(sinkRecord("dev", 3).body)).to.equal(true);
    // The batch once (which record failed is not known), then seq 3 alone, three times.
    expect(t.d.unexpectedErrors).to.equal(4);
    const unexpected = t.logs.filter((l) => String(l.msg).startsWith("unexpected error in a sink"));
    expect(unexpected, "logged once: the rest within the minute are counted, not logged").to.have.length(1);
    expect(unexpected[0]!.level).to.equal(50);
    expect((unexpected[0]!.err as { message: string }).message).to.include("cannot read properties of undefined");
    expect(t.logs.filter((l) => l.msg === "permanent failure: set aside as a dead letter; the list goes on")).to.have.length(1);
    expect(t.fatal()).to.equal(null);
  });

  it("blames the record that fails, not the first of its batch, for an unexpected error", async () => {
    const sink = new BuggySink(new Set([2, 4]));
    const t = deliverer(sink, 2);
    t.d.push(released(1, 5));
    await waitFor(() => t.committed() === 5, { what: "position 5 committed" });
    expect(sink.stored).to.deep.equal([1, 3, 5]);
    expect(t.state.deadLetters().map((x) => [x.seq, x.attempts])).to.deep.equal([
      [2, 2],
      [4, 2],
    ]);
  });
});
