// The SQLite outbox on real files: retention across its record log and peer
// ledger, lag and stats, identity, errors, and the daemon's checkpoint thread.
// The record log's own behaviour is the contract in record-log.spec.ts.

import { expect } from "chai";
import Database from "better-sqlite3";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OutboxError } from "../../lib/errors.js";
import { Outbox, type OutboxOpenOptions } from "../../lib/store/outbox.js";
import type { NewRecord } from "../../lib/store/record-log.js";
import { SubscriberState } from "../../lib/store/state.js";
import { makeMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const opened: Outbox[] = [];

function open(path = join(tempDir(), "outbox.db"), options: OutboxOpenOptions = {}): Outbox {
  const outbox = Outbox.open(path, options);
  opened.push(outbox);
  return outbox;
}

const rec = (list: string, i: number, size = 300): NewRecord => {
  const m = makeMessage(list, i, size);
  return { list, messageId: m.messageId, body: m.body };
};

const ALL = { limit: 1_000_000, maxBytes: Number.MAX_SAFE_INTEGER };

function openError(fn: () => { close(): unknown }): OutboxError {
  try {
    void fn().close();
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

const register = (outbox: Outbox, id: string, acked: number) =>
  outbox.peers.write([{ id, name: id, lists: null, acked, at: Date.now() }], []);

describe("Outbox", () => {
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.close();
  });

  it("prunes nothing while no peer is registered", () => {
    const outbox = open();
    outbox.records.appendMany([0, 1, 2].map((i) => rec("dev", i)));
    expect(outbox.pruneAcknowledged(Date.now() + 60_000)).to.equal(0);
    expect(outbox.records.first()).to.equal(1);
  });

  it("prunes only what every registered peer acked, older than the cutoff and not above the limit", () => {
    const outbox = open();
    outbox.records.appendMany([0, 1, 2, 3].map((i) => rec("dev", i)));
    const cutoff = clockPast(outbox.records.readAfter(0, ALL).at(-1)!.receivedAt);
    outbox.records.appendMany([4, 5].map((i) => rec("dev", i)));
    clockPast(cutoff);
    register(outbox, "a", 0);
    expect(outbox.pruneAcknowledged(Date.now() + 1)).to.equal(0); // a peer that acked nothing holds everything
    register(outbox, "a", 6);
    register(outbox, "b", 2);
    expect(outbox.pruneAcknowledged(Date.now() + 1, 1)).to.equal(1); // a live session still needs 2
    expect(outbox.pruneAcknowledged(Date.now() + 1)).to.equal(1);
    expect(outbox.records.first()).to.equal(3);
    outbox.peers.write([], [{ id: "b", acked: 6, ackedAt: null, lastSeen: Date.now() }]);
    expect(outbox.pruneAcknowledged(cutoff)).to.equal(2); // 5 and 6 were received after the cutoff
    expect(outbox.records.readAfter(0, ALL).map((r) => r.seq)).to.deep.equal([5, 6]);
    expect(outbox.records.head()).to.equal(6);
  });

  it("reports a peer's lag for the lists it receives, and its records and bytes", () => {
    const outbox = open();
    outbox.records.appendMany([rec("dev", 0, 100), rec("ops", 1, 200), rec("dev", 2, 300), rec("dev", 3, 400)]);
    const dev = (list: string) => list === "dev";
    const third = outbox.records.readAfter(2, { limit: 1, maxBytes: 1 })[0]!;
    expect(outbox.records.lag(1, dev)).to.deep.equal({ records: 2, bytes: 700, oldest: third.receivedAt });
    expect(outbox.records.lag(4, dev)).to.deep.equal({ records: 0, bytes: 0, oldest: null });
    const bytes = outbox.records.readAfter(0, ALL).reduce((sum, r) => sum + r.size, 0);
    expect(outbox.records.stats()).to.deep.equal({ head: 4, first: 1, count: 4, events: 0, bytes });
  });

  it("shows one connection's commits to another on the same file", () => {
    const path = join(tempDir(), "shared.db");
    const writer = open(path);
    const reader = open(path);
    expect(reader.id).to.equal(writer.id);
    writer.records.append(rec("dev", 0));
    expect(reader.records.head()).to.equal(1);
    expect(reader.records.readAfter(0, ALL).map((r) => r.messageId)).to.deep.equal([rec("dev", 0).messageId]);
  });

  it("keeps its id across reopening, and a new file gets a new id", async () => {
    const path = join(tempDir(), "id.db");
    const first = open(path);
    const id = first.id;
    expect(id).to.match(/^[0-9a-f-]{36}$/);
    first.records.append(rec("dev", 0));
    await first.close();
    const again = open(path);
    expect([again.id, again.records.head()]).to.deep.equal([id, 1]);
    expect(open().id).to.not.equal(id);
  });

  it("in daemon mode checkpoints its WAL on a thread of its own, and close() waits for that thread", async () => {
    const path = join(tempDir(), "daemon.db");
    const outbox = Outbox.open(path, { durability: "normal", busyTimeoutMs: 0, daemon: true });
    const walHeader = () => readFileSync(`${path}-wal`).subarray(0, 32).toString("hex");
    let i = 0;
    outbox.records.append(rec("dev", i++));
    const before = walHeader();
    // Its own commits never checkpoint (a few records are far below SQLite's 1,000 pages anyway):
    // a new WAL header means the thread checkpointed everything and the next commit started the WAL over.
    await waitFor(() => (outbox.records.append(rec("dev", i++)), walHeader() !== before), { what: "the WAL to be checkpointed and restarted" });
    await outbox.close();
    expect(existsSync(`${path}-wal`), "the last connection, the thread's, removed the WAL before close() settled").to.equal(false);
    expect(await outbox.close(), "close() again").to.equal(undefined);
  });

  it("refuses a file that is not a database as OUTBOX_CORRUPT", () => {
    const path = join(tempDir(), "text.db");
    writeFileSync(path, "this is a text file, not an SQLite database\n".repeat(50));
    expect(openError(() => Outbox.open(path)).code).to.equal("OUTBOX_CORRUPT");
  });

  it("refuses another mq-archive database (a subscriber state file) as OUTBOX_CORRUPT", () => {
    const path = join(tempDir(), "state.db");
    void SubscriberState.open(path).close();
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

describe("Outbox running totals (schema 4)", () => {
  /** count, events and bytes as a scan of every row gives them. */
  function scanned(path: string): { count: number; events: number; bytes: number } {
    const db = new Database(path, { readonly: true });
    try {
      const s = db.prepare("SELECT count(*) AS count, coalesce(sum(kind = 'event'), 0) AS events, coalesce(sum(size), 0) AS bytes FROM records").get() as {
        count: number;
        events: number;
        bytes: number;
      };
      return s;
    } finally {
      db.close();
    }
  }
  const totals = (o: Outbox) => {
    const { count, events, bytes } = o.records.stats();
    return { count, events, bytes };
  };

  it("stay equal to a scan through appends, duplicates, events and pruning", () => {
    const path = join(tempDir(), "outbox.db");
    const outbox = open(path);
    for (let i = 0; i < 40; i++) outbox.records.append(rec(i % 3 === 0 ? "ops" : "dev", i, 200 + i * 37));
    outbox.records.append(rec("dev", 1)); // a duplicate: no row, no change
    outbox.records.appendMany([{ kind: "event", list: "dev", messageId: "event:e1", body: Buffer.from('{"id":"e1"}') }, rec("dev", 99)]);
    expect(totals(outbox)).to.deep.equal(scanned(path));
    outbox.peers.write([{ id: "p", name: "p", lists: null, acked: 25, at: Date.now() }], []);
    expect(outbox.pruneAcknowledged(Date.now() + 1000)).to.equal(25);
    expect(totals(outbox)).to.deep.equal(scanned(path)).and.to.include({ count: 17, events: 1 });
  });

  it("an outbox of schema 3 is counted once when it is upgraded; read-only, it is counted by a scan", async () => {
    const path = join(tempDir(), "outbox.db");
    const outbox = Outbox.open(path);
    for (let i = 0; i < 10; i++) outbox.records.append(rec("dev", i));
    await outbox.close();
    const db = new Database(path);
    db.exec("DROP TABLE record_totals; DROP INDEX records_lag; PRAGMA user_version = 3");
    db.close();
    expect(totals(open(path, { readonly: true }))).to.deep.equal(scanned(path));
    const upgraded = open(path);
    expect(totals(upgraded)).to.deep.equal(scanned(path)).and.to.include({ count: 10 });
    upgraded.records.append(rec("dev", 10));
    expect(totals(upgraded)).to.deep.equal(scanned(path)).and.to.include({ count: 11 });
  });
});
