// outbox:PATH, the relay's sink: the sink contract over a real relay outbox,
// events kept with messages, and the origin's identity taken from the records.

import { expect } from "chai";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { OutboxSink } from "../../lib/sinks/outbox.js";
import { Outbox } from "../../lib/store/outbox.js";
import { expectSinkError, SinkBench, sinkContract } from "./contract.js";
import { eventRecord, OUTBOX, sinkRecord } from "./records.js";

const relayPath = (dir: string) => join(dir, "relay.db");

async function readRelay(dir: string, list: string): Promise<Buffer[]> {
  if (!existsSync(relayPath(dir))) return [];
  const outbox = Outbox.open(relayPath(dir), { create: false });
  try {
    return outbox.records.readAfter(0, { limit: 100_000, maxBytes: Infinity }).filter((r) => r.list === list).map((r) => r.body);
  } finally {
    await outbox.close();
  }
}

sinkContract("outbox", (dir) => new OutboxSink(relayPath(dir)), readRelay);

describe("OutboxSink", () => {
  let bench: SinkBench;
  beforeEach(() => (bench = new SinkBench((dir) => new OutboxSink(relayPath(dir)))));
  afterEach(async () => bench.close());

  it("keeps messages and list events under the origin's id, seqs and times", async () => {
    const sink = await bench.start(0, null);
    const records = [sinkRecord("alpha", 4), eventRecord("alpha", 9), sinkRecord("beta", 12)];
    await sink.store(records);
    const outbox = Outbox.open(relayPath(bench.dir), { create: false });
    try {
      expect(outbox.identity()).to.equal(OUTBOX);
      const kept = outbox.records.readAfter(0, { limit: 10, maxBytes: Infinity });
      expect(kept.map((r) => [r.seq, r.kind, r.list, r.messageId, r.receivedAt])).to.deep.equal(
        records.map((r) => [r.seq, r.kind, r.list, r.messageId, r.receivedAt]),
      );
      expect(kept.map((r) => r.body)).to.deep.equal(records.map((r) => r.body));
    } finally {
      await outbox.close();
    }
  });

  it("will not relay into Mailman's own outbox, nor another origin's records into this one", async () => {
    mkdirSync(bench.dir.replace(/archive$/, "own"));
    const own = Outbox.open(relayPath(bench.dir.replace(/archive$/, "own")));
    own.records.append({ list: "alpha", messageId: "<own@x>", body: Buffer.from("x") });
    await own.close();
    const refused = new SinkBench(() => new OutboxSink(relayPath(bench.dir.replace(/archive$/, "own"))));
    try {
      const err = await refused.start(0).then(() => null, (e: unknown) => e as Error);
      expect(err?.message).to.contain("records of its own");
    } finally {
      await refused.close();
    }

    const sink = await bench.start(0);
    await sink.store([sinkRecord("alpha", 1)]);
    const other = { ...sinkRecord("alpha", 2), outbox: "0b5e3c1a-2d4f-4a6b-8c9d-1e2f3a4b5c6d" };
    const err = await expectSinkError(sink.store([other]));
    expect(err.transient, "paused until a person points it elsewhere").to.equal(true);
    expect(err.message).to.contain("into a new file");
    expect(bench.problems.at(-1)).to.equal(err.message);
  });
});
