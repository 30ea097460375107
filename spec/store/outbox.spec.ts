// The SQLite outbox on real files: seqs, dedupe, reads, peers, pruning, identity.

import { expect } from "chai";
import Database from "better-sqlite3";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { OutboxError } from "../../lib/errors.js";
import { Outbox, type NewRecord } from "../../lib/store/outbox.js";
import { SubscriberState } from "../../lib/store/state.js";
import { makeMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";

const opened: Array<{ close(): void }> = [];

function open(path = join(tempDir(), "outbox.db"), options: Parameters<typeof Outbox.open>[1] = {}): Outbox {
  const outbox = Outbox.open(path, options);
  opened.push(outbox);
  return outbox;
}

const rec = (list: string, i: number, size = 300): NewRecord => {
  const m = makeMessage(list, i, size);
  return { list, messageId: m.messageId, body: m.body };
};

const ALL = { limit: 1_000_000, maxBytes: Number.MAX_SAFE_INTEGER };

function openError(fn: () => { close(): void }): OutboxError {
  try {
    fn().close();
  } catch (err) {
    expect(err).to.be.instanceOf(OutboxError);
    return err as OutboxError;
  }
  throw new Error("expected an OutboxError");
}

/** Wait (without sleeping) until the clock has moved past `ms`. */
function clockPast(ms: number): number {
  while (Date.now() <= ms) {
    /* spin: at most a millisecond */
  }
  return Date.now();
}

describe("Outbox", () => {
  afterEach(() => {
    for (const o of opened.splice(0)) o.close();
  });

  it("starts empty and assigns increasing seqs", () => {
    const outbox = open();
    expect([outbox.head(), outbox.first()]).to.deep.equal([0, 0]);
    const seqs = [0, 1, 2].map((i) => outbox.append(rec("dev", i)));
    expect(seqs).to.deep.equal([1, 2, 3].map((seq) => ({ seq, duplicate: false })));
    expect([outbox.head(), outbox.first()]).to.deep.equal([3, 1]);
    const r = outbox.get(2)!;
    expect(r).to.include({ seq: 2, kind: "message", list: "dev", messageId: rec("dev", 1).messageId, size: r.body.length });
    expect(r.body.equals(rec("dev", 1).body)).to.equal(true);
    expect(outbox.get(99)).to.equal(undefined);
  });

  it("returns the existing seq for a duplicate and does not burn a seq", () => {
    const outbox = open();
    outbox.append(rec("dev", 0));
    outbox.append(rec("dev", 1));
    expect(outbox.append(rec("dev", 0))).to.deep.equal({ seq: 1, duplicate: true });
    expect(outbox.append({ ...rec("dev", 0), body: Buffer.from("other bytes, same id\n") })).to.deep.equal({
      seq: 1,
      duplicate: true,
    });
    expect(outbox.head()).to.equal(2);
    expect(outbox.append(rec("dev", 2))).to.deep.equal({ seq: 3, duplicate: false });
  });

  it("keeps the same Message-ID in another list as a new record", () => {
    const outbox = open();
    const a = rec("dev", 0);
    outbox.append(a);
    expect(outbox.append({ ...a, list: "users" })).to.deep.equal({ seq: 2, duplicate: false });
  });

  it("appends many in one call, deduplicating inside the batch too", () => {
    const outbox = open();
    outbox.append(rec("dev", 0));
    const results = outbox.appendMany([rec("dev", 1), rec("dev", 0), rec("dev", 2), rec("dev", 1), { ...rec("ops", 3), kind: "event" }]);
    expect(results).to.deep.equal([
      { seq: 2, duplicate: false },
      { seq: 1, duplicate: true },
      { seq: 3, duplicate: false },
      { seq: 2, duplicate: true },
      { seq: 4, duplicate: false },
    ]);
    expect(outbox.get(4)?.kind).to.equal("event");
    expect(outbox.appendMany([])).to.deep.equal([]);
  });

  it("reads after a seq within a record limit and a byte limit, at least one record", () => {
    const outbox = open();
    outbox.appendMany([0, 1, 2, 3, 4].map((i) => rec("dev", i, 1000)));
    expect(outbox.readAfter(0, ALL).map((r) => r.seq)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(outbox.readAfter(2, ALL).map((r) => r.seq)).to.deep.equal([3, 4, 5]);
    expect(outbox.readAfter(1, { limit: 2, maxBytes: 1e9 }).map((r) => r.seq)).to.deep.equal([2, 3]);
    expect(outbox.readAfter(0, { limit: 10, maxBytes: 1 }).map((r) => r.seq)).to.deep.equal([1]);
    expect(outbox.readAfter(0, { limit: 10, maxBytes: 2500 }).map((r) => r.seq)).to.deep.equal([1, 2, 3]);
    expect(outbox.readAfter(5, ALL)).to.deep.equal([]);
  });

  it("reads only accepted lists and reports how far it scanned", () => {
    const outbox = open();
    outbox.appendMany(["dev", "ops", "ops", "dev", "ops", "ops", "ops"].map((l, i) => rec(l, i)));
    const dev = (list: string) => list === "dev";
    const all = outbox.readAfterFiltered(0, dev, { ...ALL, scan: 100 });
    expect(all.records.map((r) => [r.seq, r.list])).to.deep.equal([[1, "dev"], [4, "dev"]]);
    expect(all.scanned).to.equal(7);
    const limited = outbox.readAfterFiltered(0, dev, { limit: 1, maxBytes: 1e9, scan: 100 });
    expect([limited.records.map((r) => r.seq), limited.scanned]).to.deep.equal([[1], 1]);
    const scanLimited = outbox.readAfterFiltered(1, dev, { ...ALL, scan: 2 });
    expect([scanLimited.records, scanLimited.scanned]).to.deep.equal([[], 3]);
    const nothing = outbox.readAfterFiltered(7, dev, { ...ALL, scan: 100 });
    expect([nothing.records, nothing.scanned]).to.deep.equal([[], 7]);
  });

  it("registers, updates, lists and forgets peers", () => {
    const outbox = open();
    outbox.registerPeer({ id: "k2", name: "beta", lists: ["dev", "ops"], acked: 0 }, 1000);
    outbox.registerPeer({ id: "k1", name: "alpha", lists: null, acked: 5 }, 2000);
    outbox.updatePeers([{ id: "k2", acked: 7, ackedAt: 3000, lastSeen: 3500 }]);
    // A new session below the recorded acknowledgement does not move it back (it would hold back pruning).
    outbox.registerPeer({ id: "k1", name: "alpha2", lists: ["x"], acked: 3 }, 4000);
    outbox.updatePeers([{ id: "k2", acked: 6, ackedAt: 4000, lastSeen: 4500 }]);
    expect(outbox.ackedOf("k1")).to.equal(5);
    expect(outbox.ackedOf("nobody")).to.equal(null);
    expect(outbox.peers()).to.deep.equal([
      { id: "k1", name: "alpha2", lists: ["x"], allowed: null, deadLetters: 0, acked: 5, ackedAt: null, registeredAt: 2000, lastSeen: 4000 },
      { id: "k2", name: "beta", lists: ["dev", "ops"], allowed: null, deadLetters: 0, acked: 7, ackedAt: 3000, registeredAt: 1000, lastSeen: 4500 },
    ]);
    expect(outbox.forgetPeer("k1")).to.equal(true);
    expect(outbox.forgetPeer("k1")).to.equal(false);
    expect(outbox.forgetPeer("beta")).to.equal(true); // by name, as the status command shows it
    expect(outbox.peers()).to.deep.equal([]);
  });

  it("prunes nothing while no peer is registered", () => {
    const outbox = open();
    outbox.appendMany([0, 1, 2].map((i) => rec("dev", i)));
    expect(outbox.prune(Date.now() + 60_000)).to.equal(0);
    expect(outbox.first()).to.equal(1);
  });

  it("prunes only what every registered peer acked and what is older than the cutoff", () => {
    const outbox = open();
    outbox.appendMany([0, 1, 2, 3].map((i) => rec("dev", i)));
    const cutoff = clockPast(outbox.get(4)!.receivedAt);
    outbox.appendMany([4, 5].map((i) => rec("dev", i)));
    clockPast(cutoff);
    outbox.registerPeer({ id: "a", name: "a", lists: null, acked: 0 });
    expect(outbox.prune(Date.now() + 1)).to.equal(0); // a peer that acked nothing holds everything
    outbox.registerPeer({ id: "a", name: "a", lists: null, acked: 6 });
    outbox.registerPeer({ id: "b", name: "b", lists: null, acked: 2 });
    expect(outbox.prune(Date.now() + 1)).to.equal(2);
    expect(outbox.first()).to.equal(3);
    outbox.updatePeers([{ id: "b", acked: 6, ackedAt: null, lastSeen: Date.now() }]);
    expect(outbox.prune(cutoff)).to.equal(2); // 5 and 6 were received after the cutoff
    expect(outbox.readAfter(0, ALL).map((r) => r.seq)).to.deep.equal([5, 6]);
    expect(outbox.head()).to.equal(6); // the head survives pruning, so seqs are never reused
    expect(outbox.append(rec("dev", 9)).seq).to.equal(7);
  });

  it("prunes more than one chunk of records", () => {
    const outbox = open();
    outbox.appendMany(Array.from({ length: 2500 }, (_, i) => ({ list: "dev", messageId: `<${i}@x>`, body: Buffer.from("S: x\n\n") })));
    outbox.registerPeer({ id: "a", name: "a", lists: null, acked: 2500 });
    expect(outbox.prune(Date.now() + 1)).to.equal(2500);
    expect([outbox.first(), outbox.head(), outbox.stats().count]).to.deep.equal([0, 2500, 0]);
  });

  it("reports a peer's lag for the lists it receives", () => {
    const outbox = open();
    outbox.appendMany([rec("dev", 0, 100), rec("ops", 1, 200), rec("dev", 2, 300), rec("dev", 3, 400)]);
    const dev = (list: string) => list === "dev";
    const lag = outbox.lag(1, dev);
    expect(lag).to.deep.equal({ records: 2, bytes: 700, oldest: outbox.get(3)!.receivedAt });
    expect(outbox.lag(4, dev)).to.deep.equal({ records: 0, bytes: 0, oldest: null });
  });

  it("shows one connection's commits to another on the same file", () => {
    const path = join(tempDir(), "shared.db");
    const writer = open(path);
    const reader = open(path);
    expect(reader.id).to.equal(writer.id);
    const before = reader.dataVersion();
    writer.append(rec("dev", 0));
    expect(reader.head()).to.equal(1);
    expect(reader.readAfter(0, ALL).map((r) => r.messageId)).to.deep.equal([rec("dev", 0).messageId]);
    expect(reader.dataVersion()).to.not.equal(before);
  });

  it("keeps its id across reopening, and a new file gets a new id", () => {
    const path = join(tempDir(), "id.db");
    const first = open(path);
    const id = first.id;
    expect(id).to.match(/^[0-9a-f-]{36}$/);
    first.append(rec("dev", 0));
    first.close();
    const again = open(path);
    expect([again.id, again.head()]).to.deep.equal([id, 1]);
    expect(open().id).to.not.equal(id);
  });

  it("refuses a file that is not a database as OUTBOX_CORRUPT", () => {
    const path = join(tempDir(), "text.db");
    writeFileSync(path, "this is a text file, not an SQLite database\n".repeat(50));
    expect(openError(() => Outbox.open(path)).code).to.equal("OUTBOX_CORRUPT");
  });

  it("refuses another mq-archive database (a subscriber state file) as OUTBOX_CORRUPT", () => {
    const path = join(tempDir(), "state.db");
    SubscriberState.open(path).close();
    expect(openError(() => Outbox.open(path)).code).to.equal("OUTBOX_CORRUPT");
  });

  // Regression test (fixed): lib/store/outbox.ts Outbox.open runs the migration on any database whose user_version is below 1, which every non-mq-archive SQLite file has (e.g....
  it("refuses a foreign SQLite database instead of adding its tables to it", () => {
    const path = join(tempDir(), "foreign.db");
    const foreign = new Database(path);
    foreign.exec("CREATE TABLE mailinglist (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO mailinglist (name) VALUES ('dev')");
    foreign.close();
    expect(openError(() => Outbox.open(path)).code).to.equal("OUTBOX_CORRUPT");
  });

  it("refuses a missing file when create is false", () => {
    const path = join(tempDir(), "missing.db");
    expect(openError(() => Outbox.open(path, { create: false })).code).to.equal("OUTBOX_UNUSABLE");
    expect(openError(() => Outbox.open(join(tempDir(), "no", "such", "dir.db"))).code).to.equal("OUTBOX_UNUSABLE");
  });
});
