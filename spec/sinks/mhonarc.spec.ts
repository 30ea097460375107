// The mhonarc sink with Debian's real mhonarc behind it: the shared sink
// contract, then what is MHonArc's own: its database as the proof of
// storage, the id it invents, duplicates, its lock, a message it refuses or
// declines, and a run that hangs.
//
// MHonArc keeps no raw message, so the contract reads an archive back as the
// Message-IDs its database holds, in message-number order, each mapped to
// the bytes of the record that carries it, once its page is checked to exist
// and show that record's subject.

import { expect } from "chai";
import { existsSync, mkdirSync, readdirSync, rmdirSync, utimesSync } from "node:fs";
import { join, resolve } from "node:path";
import { MhonarcSink, type MhonarcOptions } from "../../lib/sinks/mhonarc.js";
import { parseSink } from "../../lib/sinks/parse.js";
import type { SinkRecord } from "../../lib/sinks/sink.js";
import {
  addDirectly,
  hanging,
  markedNoArchive,
  mhonarcId,
  mhonarcMissing,
  noMessageId,
  readArchive,
  refused,
  setUpArchive,
} from "../helpers/mhonarc.js";
import type { TestMessage } from "../helpers/messages.js";
import { batch, expectSinkError, SinkBench, sinkContract } from "./contract.js";
import { eventRecord, OUTBOX, sinkRecord } from "./records.js";

const missing = mhonarcMissing();

/** Every record the contract made, by the id mhonarc files it under. */
const made = new Map<string, Buffer>();
function registered(list: string, seq: number, size?: number): SinkRecord {
  const r = sinkRecord(list, seq, size);
  made.set(mhonarcId(r.body), r.body);
  return r;
}

async function readBack(dir: string, list: string): Promise<Buffer[]> {
  return readArchive(join(dir, list)).map((e) => {
    const body = made.get(e.id);
    if (body === undefined) return Buffer.from(`unknown message <${e.id}> in the archive`);
    const subject = /^Subject: (.*)$/m.exec(body.toString("latin1"))?.[1] ?? "";
    return e.page.includes(subject) ? body : Buffer.from(`page of <${e.id}> missing or without its subject`);
  });
}

function recordOf(m: TestMessage, seq: number): SinkRecord {
  return { outbox: OUTBOX, seq, kind: "message", list: m.list, messageId: m.messageId || `derived-${seq}@mq-archive.invalid`, receivedAt: Date.now(), body: m.body };
}

const ids = (dir: string, list: string): string[] => readArchive(join(dir, list)).map((e) => e.id);

describe("mhonarc sink (the real mhonarc)", function () {
  this.timeout(120_000);
  before(function () {
    if (missing) {
      console.warn(`\n  !!! SKIPPING the mhonarc sink tests: ${missing}.\n`);
      this.skip();
    }
  });

  sinkContract("mhonarc", (dir) => new MhonarcSink(dir), readBack, { record: registered });

  let bench: SinkBench;
  let options: MhonarcOptions;
  beforeEach(() => {
    options = {};
    bench = new SinkBench((dir) => new MhonarcSink(dir, options));
  });
  afterEach(async () => {
    await bench.close();
  });

  it("is what mhonarc:DIR names, over an absolute directory", () => {
    const sink = parseSink("mhonarc:archives/lists", { mhonarcTimeoutMs: 1000 });
    expect(sink).to.be.instanceOf(MhonarcSink);
    expect(sink.name).to.equal(`mhonarc:${resolve("archives/lists")}`);
  });

  it("passes list events by as stored, archiving only the messages", async () => {
    const sink = await bench.start(0);
    await sink.store([eventRecord("alpha", 1), sinkRecord("alpha", 2), eventRecord("beta", 3)]);
    expect(ids(bench.dir, "alpha")).to.deep.equal([mhonarcId(sinkRecord("alpha", 2).body)]);
    expect(existsSync(join(bench.dir, "beta")), "no archive for a list that only had events").to.equal(false);
  });

  it("confirms a message without Message-ID under the id mhonarc invents (md5 of its header), once across a redelivery", async () => {
    const m = noMessageId("alpha", 1);
    const record = recordOf(m, 1);
    await (await bench.start(0)).store([record, sinkRecord("alpha", 2)]);
    await (await bench.start(0)).store([record, sinkRecord("alpha", 2)]);
    const id = mhonarcId(m.body);
    expect(id).to.match(/^[0-9a-f]{32}@NO-ID-FOUND\.mhonarc\.org$/);
    expect(ids(bench.dir, "alpha")).to.deep.equal([id, "alpha.2@test.mq-archive"]);
  });

  it("confirms a Message-ID the archive already holds without adding it again", async () => {
    const earlier = sinkRecord("alpha", 2);
    addDirectly(join(bench.dir, "alpha"), earlier.body);
    const sink = await bench.start(0);
    await sink.store([sinkRecord("alpha", 1), { ...earlier, seq: 2 }, sinkRecord("alpha", 3)]);
    expect(ids(bench.dir, "alpha")).to.deep.equal(["alpha.2@test.mq-archive", "alpha.1@test.mq-archive", "alpha.3@test.mq-archive"]);
  });

  it("treats a locked archive (.mhonarc.lck held) as temporary, stores none of that list, and goes on once it is released", async () => {
    const lock = join(bench.dir, "alpha", ".mhonarc.lck");
    mkdirSync(lock, { recursive: true });
    const sink = await bench.start(0);
    const records = batch(1, 6, ["beta", "alpha"]); // beta 2, 4, 6; alpha 1, 3, 5
    const reordered = [records[1]!, records[0]!, ...records.slice(2)]; // beta 2 first, then alpha 1 ...
    const err = await expectSinkError(sink.store(reordered));
    expect(err.transient, "transient").to.equal(true);
    expect(err.stored, "stored").to.equal(1);
    expect(err.message).to.include(".mhonarc.lck").and.to.include("locked");
    // beta is an archive of its own, run first: all of it is in, and comes again behind alpha 1 as duplicates.
    expect(ids(bench.dir, "beta")).to.deep.equal(["beta.2@test.mq-archive", "beta.4@test.mq-archive", "beta.6@test.mq-archive"]);
    expect(existsSync(join(bench.dir, "alpha", ".mhonarc.db"))).to.equal(false);
    expect(existsSync(lock), "someone else's lock is left alone").to.equal(true);
    rmdirSync(lock);
    await sink.store(reordered.slice(1));
    expect(ids(bench.dir, "alpha")).to.deep.equal(["alpha.1@test.mq-archive", "alpha.3@test.mq-archive", "alpha.5@test.mq-archive"]);
    expect(ids(bench.dir, "beta")).to.deep.equal(["beta.2@test.mq-archive", "beta.4@test.mq-archive", "beta.6@test.mq-archive"]);
  });

  it("fails a message mhonarc refuses permanently, with its error, finding it in the batch by running the rest one at a time", async () => {
    setUpArchive(join(bench.dir, "alpha"), { refuse: true });
    const sink = await bench.start(0);
    const records = [1, 2, 3, 4, 5].map((i) => (i === 3 ? recordOf(refused("alpha", 3), 3) : sinkRecord("alpha", i)));
    const err = await expectSinkError(sink.store(records));
    expect(err.transient, "transient").to.equal(false);
    expect(err.stored, "stored").to.equal(2);
    expect(err.message).to.include("exit 255").and.to.include("this archive refuses text/x-mqa-refuse");
    expect(ids(bench.dir, "alpha")).to.deep.equal(["alpha.1@test.mq-archive", "alpha.2@test.mq-archive"]);
    await sink.store(records.slice(3)); // what the deliverer does once the refused one is a dead letter
    expect(ids(bench.dir, "alpha")).to.deep.equal(["alpha.1@test.mq-archive", "alpha.2@test.mq-archive", "alpha.4@test.mq-archive", "alpha.5@test.mq-archive"]);
  });

  it("fails a message mhonarc declines with exit 0 (X-No-Archive, CHECKNOARCHIVE) permanently, saying so", async () => {
    setUpArchive(join(bench.dir, "alpha"), { checkNoArchive: true });
    const sink = await bench.start(0);
    const records = [sinkRecord("alpha", 1), recordOf(markedNoArchive("alpha", 2), 2), sinkRecord("alpha", 3)];
    const err = await expectSinkError(sink.store(records));
    expect(err.transient, "transient").to.equal(false);
    expect(err.stored, "stored").to.equal(1);
    expect(err.message).to.include("exited 0 without storing it").and.to.include("X-No-Archive");
    // The same run went on past it: message 3 is in already, and its redelivery adds nothing.
    await sink.store(records.slice(2));
    expect(ids(bench.dir, "alpha")).to.deep.equal(["alpha.1@test.mq-archive", "alpha.3@test.mq-archive"]);
  });

  it("stops a hung mhonarc (SIGTERM ignored) with SIGKILL, removes the lock it held, and the next run stores", async () => {
    setUpArchive(join(bench.dir, "alpha"), { hang: true });
    options = { mhonarcTimeoutMs: 1500, mhonarcTermGraceMs: 1000 };
    const sink = await bench.start(0);
    const err = await expectSinkError(sink.store([recordOf(hanging("alpha", 1), 1)]));
    expect(err.transient, "transient").to.equal(false);
    expect(err.stored).to.equal(0);
    expect(err.message).to.include("was stopped (SIGTERM, then SIGKILL; the lock it held was removed)");
    expect(existsSync(join(bench.dir, "alpha", ".mhonarc.lck")), "lock left behind").to.equal(false);
    await sink.store([sinkRecord("alpha", 2)]);
    expect(ids(bench.dir, "alpha")).to.deep.equal(["alpha.2@test.mq-archive"]);
  });

  it("stops a run that waits too long for someone else's lock with SIGTERM alone, and leaves that lock", async () => {
    const lock = join(bench.dir, "alpha", ".mhonarc.lck");
    mkdirSync(lock, { recursive: true });
    options = { mhonarcTimeoutMs: 500, mhonarcTermGraceMs: 5000 };
    const sink = await bench.start(0);
    const err = await expectSinkError(sink.store([sinkRecord("alpha", 1)]));
    expect(err.message).to.include("was stopped (SIGTERM)");
    expect(existsSync(lock)).to.equal(true);
  });

  it("removes at start a lock left from before the last boot, and only such a one", async () => {
    const old = join(bench.dir, "alpha", ".mhonarc.lck");
    const fresh = join(bench.dir, "beta", ".mhonarc.lck");
    mkdirSync(old, { recursive: true });
    mkdirSync(fresh, { recursive: true });
    utimesSync(old, new Date(0), new Date(0));
    await bench.start(0);
    expect(existsSync(old)).to.equal(false);
    expect(existsSync(fresh)).to.equal(true);
  });

  it("leaves no scratch folder behind, and removes one a crash left at start", async () => {
    const sink = await bench.start(0);
    await sink.store(batch(1, 4));
    mkdirSync(join(bench.dir, ".mq-batch-left"));
    await bench.start(4);
    expect(readdirSync(bench.dir).filter((n) => n.startsWith("."))).to.deep.equal([]);
  });

  it("refuses to start without mhonarc on PATH, saying how to install it", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      const err = await expectSinkError(bench.start(0));
      expect(err.transient).to.equal(false);
      expect(err.message).to.include("mhonarc is not installed").and.to.include("apt-get install mhonarc");
    } finally {
      process.env.PATH = path;
    }
  });
});
