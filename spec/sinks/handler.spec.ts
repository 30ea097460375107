import { expect } from "chai";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SinkError } from "../../lib/errors.js";
import { HandlerSink, type RecordHandler } from "../../lib/sinks/handler.js";
import type { SinkRecord } from "../../lib/sinks/sink.js";
import { batch, expectSinkError, readSeqFiles, SinkBench, sinkContract } from "./contract.js";

/** A custom archiver: DIR/<list>.<seq>, written once (a redelivered record finds its file). */
function fileArchiver(dir: string): RecordHandler {
  return async (record) => {
    await mkdir(dir, { recursive: true });
    try {
      await writeFile(join(dir, `${record.list}.${record.seq}`), record.body, { flag: "wx" });
    } catch (err) {
      if ((err as { code?: string }).code !== "EEXIST") throw err;
    }
  };
}

sinkContract("handler", (dir) => new HandlerSink(fileArchiver(dir)), readSeqFiles, {
  // Regression test (fixed): lib/sinks/handler.ts:19-29 (store) hands every list name to the handler unchecked, unlike maildir and mbox (storeSafeLists, sink.ts:51, whose comment...
});

describe("HandlerSink", () => {
  let bench: SinkBench;
  let handler: RecordHandler;
  beforeEach(() => {
    bench = new SinkBench(() => new HandlerSink((r) => handler(r)));
  });
  afterEach(async () => {
    await bench.close();
  });

  it("hands records over one at a time, in order, waiting for each", async () => {
    const seen: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    handler = async (r) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(r.seq);
      inFlight--;
    };
    const sink = await bench.start(0);
    await sink.store(batch(1, 8));
    expect(seen).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(maxInFlight).to.equal(1);
  });

  it("accepts a synchronous handler", async () => {
    const seen: SinkRecord[] = [];
    handler = (r) => void seen.push(r);
    const sink = await bench.start(0);
    const records = batch(1, 3);
    await sink.store(records);
    expect(seen).to.deep.equal(records);
  });

  it("keeps the transient flag of a SinkError the handler throws, and counts what was stored", async () => {
    for (const transient of [true, false]) {
      const thrown = new SinkError("archive says no", { transient });
      handler = (r) => {
        if (r.seq === 3) throw thrown;
      };
      const sink = await bench.start(0);
      const err = await expectSinkError(sink.store(batch(1, 4)));
      expect(err.transient).to.equal(transient);
      expect(err.stored).to.equal(2);
      expect(err.message).to.equal("archive says no");
      expect(err.cause).to.equal(thrown);
    }
  });

  it("treats any other error as temporary, so a bug in a handler never loses a record", async () => {
    handler = async (r) => {
      if (r.seq === 2) throw new TypeError("cannot read properties of undefined");
    };
    const sink = await bench.start(0);
    const err = await expectSinkError(sink.store(batch(1, 3)));
    expect(err.transient).to.equal(true);
    expect(err.stored).to.equal(1);
    expect(err.cause).to.be.instanceOf(TypeError);
  });
});
