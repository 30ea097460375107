// The contract every record log keeps (lib/store/record-log.ts), as one
// suite that a spec runs against each implementation, after MQTT.js's
// abstract store tests: seqs that are never reused, dedupe by (list,
// Message-ID), reads within record and byte limits, filtered reads within a
// scan bound, and pruning within the bounds it is given.

import { expect } from "chai";
import type { NewRecord, RecordLog } from "../../lib/store/record-log.js";
import { makeMessage } from "../helpers/messages.js";

/** A fresh, empty log, and how to close it after the test. */
export interface RecordLogSubject {
  log: RecordLog;
  close(): unknown;
}

const ALL = { limit: 1_000_000, maxBytes: Number.MAX_SAFE_INTEGER };
const FAR_FUTURE = Number.MAX_SAFE_INTEGER;

const rec = (list: string, i: number, size = 300): NewRecord => {
  const m = makeMessage(list, i, size);
  return { list, messageId: m.messageId, body: m.body };
};

/** Wait (without sleeping) until the clock has moved past `ms`. */
function clockPast(ms: number): number {
  while (Date.now() <= ms) {
    /* spin: at most a millisecond */
  }
  return Date.now();
}

export function recordLogContract(open: () => RecordLogSubject | Promise<RecordLogSubject>): void {
  let subject: RecordLogSubject | undefined;
  let log: RecordLog;

  beforeEach(async () => {
    subject = await open();
    log = subject.log;
  });

  afterEach(async () => {
    await subject?.close();
    subject = undefined;
  });

  const seqs = (after: number, limits = ALL) => log.readAfter(after, limits).map((r) => r.seq);

  it("starts empty", () => {
    expect([log.head(), log.first()]).to.deep.equal([0, 0]);
    expect(log.readAfter(0, ALL)).to.deep.equal([]);
  });

  it("assigns seqs from 1 up and gives records back byte for byte", () => {
    const before = Date.now();
    const results = [0, 1, 2].map((i) => log.append(rec("dev", i)));
    expect(results).to.deep.equal([1, 2, 3].map((seq) => ({ seq, duplicate: false })));
    expect([log.head(), log.first()]).to.deep.equal([3, 1]);
    const records = log.readAfter(0, ALL);
    expect(records.map((r) => [r.seq, r.kind, r.list, r.messageId])).to.deep.equal(
      [0, 1, 2].map((i) => [i + 1, "message", "dev", rec("dev", i).messageId]),
    );
    for (const [i, r] of records.entries()) {
      expect(r.body.equals(rec("dev", i).body), `body of seq ${r.seq}`).to.equal(true);
      expect(r.size).to.equal(r.body.length);
      expect(r.receivedAt).to.be.within(before, Date.now());
    }
  });

  it("returns the existing seq for a (list, Message-ID) it holds, whatever the body, and burns no seq", () => {
    log.append(rec("dev", 0));
    log.append(rec("dev", 1));
    expect(log.append(rec("dev", 0))).to.deep.equal({ seq: 1, duplicate: true });
    expect(log.append({ ...rec("dev", 0), body: Buffer.from("other bytes, same id\n") })).to.deep.equal({ seq: 1, duplicate: true });
    expect(log.head()).to.equal(2);
    expect(log.append(rec("dev", 2))).to.deep.equal({ seq: 3, duplicate: false });
    expect(log.readAfter(0, ALL)[0]!.body.equals(rec("dev", 0).body), "the first body is kept").to.equal(true);
  });

  it("keeps the same Message-ID in another list as a new record", () => {
    const a = rec("dev", 0);
    log.append(a);
    expect(log.append({ ...a, list: "users" })).to.deep.equal({ seq: 2, duplicate: false });
  });

  it("appends many at once, deduplicating against the log and inside the batch, kinds kept", () => {
    log.append(rec("dev", 0));
    const results = log.appendMany([rec("dev", 1), rec("dev", 0), rec("dev", 2), rec("dev", 1), { ...rec("ops", 3), kind: "event" }]);
    expect(results).to.deep.equal([
      { seq: 2, duplicate: false },
      { seq: 1, duplicate: true },
      { seq: 3, duplicate: false },
      { seq: 2, duplicate: true },
      { seq: 4, duplicate: false },
    ]);
    expect(log.readAfter(0, ALL).map((r) => r.kind)).to.deep.equal(["message", "message", "message", "event"]);
    expect(log.appendMany([])).to.deep.equal([]);
    expect(log.head()).to.equal(4);
  });

  it("reads after a seq within a record limit and a byte limit, and always at least one record", () => {
    log.appendMany([0, 1, 2, 3, 4].map((i) => rec("dev", i, 1000)));
    const size = log.readAfter(0, { limit: 1, maxBytes: 1 })[0]!.size;
    expect(seqs(0)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(seqs(2)).to.deep.equal([3, 4, 5]);
    expect(seqs(1, { limit: 2, maxBytes: 1e9 })).to.deep.equal([2, 3]);
    expect(seqs(0, { limit: 10, maxBytes: 1 }), "a record larger than maxBytes still comes").to.deep.equal([1]);
    expect(seqs(0, { limit: 10, maxBytes: 2 * size + 1 }), "stops once maxBytes is reached").to.deep.equal([1, 2, 3]);
    expect(seqs(0, { limit: 10, maxBytes: 2 * size })).to.deep.equal([1, 2]);
    expect(seqs(5)).to.deep.equal([]);
  });

  it("reads only accepted lists, within a scan bound, and says how far it scanned", () => {
    log.appendMany(["dev", "ops", "ops", "dev", "ops", "ops", "ops"].map((l, i) => rec(l, i)));
    const dev = (list: string) => list === "dev";
    const shape = (r: ReturnType<RecordLog["readAfterFiltered"]>) => [r.records.map((x) => [x.seq, x.list]), r.scanned];
    expect(shape(log.readAfterFiltered(0, dev, { ...ALL, scan: 100 }))).to.deep.equal([[[1, "dev"], [4, "dev"]], 7]);
    expect(shape(log.readAfterFiltered(0, dev, { limit: 1, maxBytes: 1e9, scan: 100 })), "limit").to.deep.equal([[[1, "dev"]], 1]);
    expect(shape(log.readAfterFiltered(0, dev, { limit: 10, maxBytes: 1, scan: 100 })), "maxBytes").to.deep.equal([[[1, "dev"]], 1]);
    expect(shape(log.readAfterFiltered(1, dev, { ...ALL, scan: 2 })), "scan bound").to.deep.equal([[], 3]);
    expect(shape(log.readAfterFiltered(3, dev, { ...ALL, scan: 2 }))).to.deep.equal([[[4, "dev"]], 5]);
    expect(shape(log.readAfterFiltered(7, dev, { ...ALL, scan: 100 })), "past the head").to.deep.equal([[], 7]);
  });

  it("prunes only records at or below `through` and received before `before`", () => {
    log.appendMany([0, 1, 2, 3].map((i) => rec("dev", i)));
    const cutoff = clockPast(log.readAfter(0, ALL).at(-1)!.receivedAt);
    log.appendMany([4, 5].map((i) => rec("dev", i)));
    expect(log.prune({ through: 0, before: FAR_FUTURE })).to.equal(0);
    expect(log.prune({ through: 2, before: FAR_FUTURE })).to.equal(2);
    expect([log.first(), log.head()]).to.deep.equal([3, 6]);
    expect(log.prune({ through: 6, before: cutoff }), "5 and 6 came after the cutoff").to.equal(2);
    expect(seqs(0)).to.deep.equal([5, 6]);
    expect(log.prune({ through: 6, before: cutoff })).to.equal(0);
  });

  it("never reuses a seq: the head survives pruning everything", () => {
    log.appendMany([0, 1, 2].map((i) => rec("dev", i)));
    expect(log.prune({ through: 3, before: FAR_FUTURE })).to.equal(3);
    expect([log.first(), log.head()]).to.deep.equal([0, 3]);
    expect(log.readAfter(0, ALL)).to.deep.equal([]);
    expect(log.append(rec("dev", 9))).to.deep.equal({ seq: 4, duplicate: false });
    expect(log.appendMany([rec("dev", 10)])).to.deep.equal([{ seq: 5, duplicate: false }]);
    expect([log.first(), log.head()]).to.deep.equal([4, 5]);
  });

  it("takes a pruned record's Message-ID as a new record", () => {
    log.append(rec("dev", 0));
    log.prune({ through: 1, before: FAR_FUTURE });
    expect(log.append(rec("dev", 0))).to.deep.equal({ seq: 2, duplicate: false });
  });

  it("prunes a long log completely", () => {
    log.appendMany(Array.from({ length: 2500 }, (_, i) => ({ list: "dev", messageId: `<${i}@x>`, body: Buffer.from("S: x\n\n") })));
    expect(log.prune({ through: 2500, before: FAR_FUTURE })).to.equal(2500);
    expect([log.first(), log.head()]).to.deep.equal([0, 2500]);
  });
}
