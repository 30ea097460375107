// The outbox's ledger: written with each record, kept after pruning, built
// by the upgrade from schema 4, its running totals filled by the upgrade
// from schema 5, and its range sums match what a subscriber computes from
// its archive keys, whatever order its rows came in.

import { expect } from "chai";
import Database from "better-sqlite3";
import { join } from "node:path";
import { archiveKey } from "../../lib/store/archived.js";
import { digestOf, digestOfKey, Ledger, type RangeSum } from "../../lib/store/ledger.js";
import { Outbox } from "../../lib/store/outbox.js";
import { makeMessage } from "../helpers/messages.js";
import { seeded } from "../helpers/seeded.js";
import { tempDir } from "../helpers/tmp.js";

const opened: Outbox[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
});

function open(path: string): Outbox {
  const outbox = Outbox.open(path);
  opened.push(outbox);
  return outbox;
}

const rec = (list: string, i: number) => {
  const m = makeMessage(list, i, 200);
  return { list, messageId: m.messageId, body: m.body };
};

/** What a subscriber computes for the same records: count and the halves' sums mod 2^32. */
function expected(messageIds: string[]): [number, number, number] {
  let hi = 0;
  let lo = 0;
  for (const id of messageIds) {
    const d = digestOfKey(archiveKey(id));
    hi = (hi + d.hi) >>> 0;
    lo = (lo + d.lo) >>> 0;
  }
  return [messageIds.length, hi, lo];
}

/** The brute-force sum over [from, to] of rows given as seq → Message-ID. */
function bruteSum(rows: Map<number, string>, from: number, to: number): RangeSum {
  return expected([...rows].filter(([seq]) => seq >= from && seq <= to).map(([, id]) => id));
}

/** A schema-5 outbox, as that version's code left it: the ledger without running totals. */
function downgradeTo5(path: string): void {
  const db = new Database(path);
  db.exec(`
    CREATE TABLE ledger5 (list INTEGER NOT NULL, seq INTEGER NOT NULL, digest INTEGER NOT NULL, PRIMARY KEY (list, seq)) WITHOUT ROWID;
    INSERT INTO ledger5 SELECT list, seq, digest FROM ledger;
    DROP TABLE ledger;
    ALTER TABLE ledger5 RENAME TO ledger;
    PRAGMA user_version = 5;
  `);
  db.close();
}

describe("outbox ledger", () => {
  it("a digest is the first half of the subscriber's archive key", () => {
    expect(digestOf("<a@b>")).to.deep.equal(digestOfKey(archiveKey("<a@b>")));
  });

  it("keeps a row per record, in the record's transaction, and keeps them after pruning", async () => {
    const outbox = open(join(tempDir(), "outbox.db"));
    const dev = [0, 1, 2, 3].map((i) => rec("dev", i));
    const ops = [0, 1].map((i) => rec("ops", i));
    outbox.records.appendMany([dev[0]!, ops[0]!, dev[1]!]);
    outbox.records.append(dev[2]!);
    outbox.records.append(dev[2]!); // a duplicate adds nothing
    outbox.records.append(ops[1]!);
    outbox.records.append(dev[3]!);
    const ledger = outbox.records.ledger;
    expect(ledger.names("", 10)).to.deep.equal(["dev", "ops"]);
    expect(ledger.entries("dev", 1, 100, 100).map((e) => e.seq)).to.deep.equal([1, 3, 4, 6]);
    expect([ledger.sum("dev", 1, 6), ledger.sum("dev", 2, 3)]).to.deep.equal([expected(dev.map((d) => d.messageId)), expected([dev[1]!.messageId])]);
    expect(ledger.sum("nonexistent", 1, 6)).to.deep.equal([0, 0, 0]);

    outbox.peers.write([{ id: "p", name: "p", lists: null, acked: 6, at: Date.now() }], []);
    expect(outbox.pruneAcknowledged(Date.now() + 1000)).to.equal(6);
    expect(outbox.records.first()).to.equal(0);
    expect(ledger.sum("dev", 1, 6)).to.deep.equal(expected(dev.map((d) => d.messageId)));
    expect(ledger.sum("ops", 1, 6)).to.deep.equal(expected(ops.map((d) => d.messageId)));
  });

  it("the upgrade from schema 4 builds the ledger from the records the outbox holds", async () => {
    const path = join(tempDir(), "outbox.db");
    const outbox = Outbox.open(path);
    const records = Array.from({ length: 25 }, (_, i) => rec(i % 2 === 0 ? "dev" : "ops", i));
    outbox.records.appendMany(records);
    await outbox.close();
    const db = new Database(path);
    db.exec("DROP TABLE ledger; DROP TABLE ledger_lists; PRAGMA user_version = 4");
    db.close();
    const upgraded = open(path);
    const ids = (list: string) => records.filter((r) => r.list === list).map((r) => r.messageId);
    expect(upgraded.records.ledger.sum("dev", 1, 25)).to.deep.equal(expected(ids("dev")));
    expect(upgraded.records.ledger.sum("ops", 1, 25)).to.deep.equal(expected(ids("ops")));
    expect(upgraded.records.ledger.since()).to.equal(1);
    upgraded.records.append(rec("dev", 99));
    expect(upgraded.records.ledger.entries("dev", 26, 26, 5)).to.have.length(1);
  });

  it("an outbox upgraded after pruning says from which seq its ledger knows records", async () => {
    const path = join(tempDir(), "outbox.db");
    const outbox = Outbox.open(path);
    outbox.records.appendMany(Array.from({ length: 10 }, (_, i) => rec("dev", i)));
    outbox.peers.write([{ id: "p", name: "p", lists: null, acked: 4, at: Date.now() }], []);
    expect(outbox.pruneAcknowledged(Date.now() + 1000)).to.equal(4);
    expect(outbox.records.ledger.since()).to.equal(1); // a new outbox's ledger knows every record
    await outbox.close();
    const db = new Database(path);
    db.exec("DROP TABLE ledger; DROP TABLE ledger_lists; DELETE FROM meta WHERE key = 'ledger_since'; PRAGMA user_version = 4");
    db.close();
    const upgraded = open(path);
    expect(upgraded.records.ledger.since()).to.equal(5);
    expect(upgraded.records.ledger.sum("dev", 1, 10)[0]).to.equal(6);
  });

  it("a range's sum equals the brute-force sum, whatever order the rows came in (out of order, repeated)", async () => {
    const path = join(tempDir(), "outbox.db");
    await open(path).close();
    const db = new Database(path);
    try {
      const ledger = new Ledger(db);
      const random = seeded(20261206);
      const lists = new Map<string, Map<number, string>>([["a", new Map()], ["b", new Map()], ["c", new Map()]]);
      const names = [...lists.keys()];
      // Mostly increasing seqs (as records come), with a fifth of the rows below their list's last seq;
      // one transaction a row (publish) or many in a batch (bulk import, relay).
      let next = 1;
      for (let i = 0; i < 900; ) {
        const rows = random(2) === 0 ? 1 : 1 + random(30);
        const write = () => {
          for (let k = 0; k < rows; k++, i++) {
            const list = names[random(3)]!;
            const seq = random(5) === 0 ? 1 + random(next) : (next += 1 + random(3));
            const id = `<${list}.${seq}.${i}@sums>`;
            ledger.record(list, seq, id);
            if (!lists.get(list)!.has(seq)) lists.get(list)!.set(seq, id); // a seq recorded again is ignored: the first stays
          }
        };
        db.transaction(() => (rows === 1 ? write() : ledger.batch(write)))();
      }
      for (const [list, rows] of lists) {
        expect(ledger.sum(list, 1, next)).to.deep.equal(bruteSum(rows, 1, next));
        for (let k = 0; k < 200; k++) {
          const from = random(next + 5) - 2;
          const to = from + random(next / 3);
          expect(ledger.sum(list, from, to), `${list} [${from}, ${to}]`).to.deep.equal(bruteSum(rows, from, to));
        }
        expect(ledger.sum(list, 10, 9)).to.deep.equal([0, 0, 0]);
        expect(ledger.entries(list, 1, next, 10_000).map((e) => e.seq)).to.deep.equal([...rows.keys()].sort((x, y) => x - y));
      }
    } finally {
      db.close();
    }
  });

  it("the upgrade from schema 5 fills the running totals of every list", async () => {
    const path = join(tempDir(), "outbox.db");
    const outbox = Outbox.open(path);
    const records = Array.from({ length: 400 }, (_, i) => rec(["dev", "ops", "users"][i % 3]!, i));
    outbox.records.appendMany(records);
    await outbox.close();
    downgradeTo5(path);
    const check = new Database(path, { readonly: true });
    expect(check.prepare("SELECT name FROM pragma_table_info('ledger')").pluck().all()).to.deep.equal(["list", "seq", "digest"]);
    check.close();

    const upgraded = open(path);
    const db = new Database(path, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).to.equal(6);
    db.close();
    upgraded.records.append(rec("dev", 1000)); // seq 401, after the upgraded rows
    const rows = (list: string) => new Map([...records, rec("dev", 1000)].map((r, i) => [i + 1, r] as const).filter(([, r]) => r.list === list).map(([seq, r]) => [seq, r.messageId]));
    const random = seeded(5);
    for (const list of ["dev", "ops", "users"]) {
      for (let k = 0; k < 100; k++) {
        const from = 1 + random(400);
        const to = from + random(120);
        expect(upgraded.records.ledger.sum(list, from, to), `${list} [${from}, ${to}]`).to.deep.equal(bruteSum(rows(list), from, to));
      }
      expect(upgraded.records.ledger.sum(list, 1, 401)).to.deep.equal(bruteSum(rows(list), 1, 401));
    }
  });
});
