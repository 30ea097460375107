// Reads shared between streaming peers, on a real outbox file. A read that
// the cache answers is told apart from one SQLite answers by deleting the
// rows underneath (as pruning would): only memory still has them.

import { expect } from "chai";
import Database from "better-sqlite3";
import { join } from "node:path";
import { SharedReads } from "../../lib/publisher/shared-reads.js";
import { Outbox } from "../../lib/store/outbox.js";
import { makeMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";

const ALL = { limit: 1_000_000, maxBytes: Number.MAX_SAFE_INTEGER };

describe("SharedReads", () => {
  let outbox: Outbox;
  let path: string;
  const opened: Array<{ close(): void }> = [];

  beforeEach(() => {
    path = join(tempDir(), "outbox.db");
    outbox = Outbox.open(path);
    opened.push(outbox);
  });
  afterEach(() => {
    for (const o of opened.splice(0)) o.close();
  });

  function publish(from: number, to: number, size = 1000): void {
    for (let i = from; i <= to; i++) {
      const m = makeMessage(i % 3 === 0 ? "dev" : "users", i, size);
      outbox.records.append({ list: i % 3 === 0 ? "dev" : "users", messageId: m.messageId, body: m.body });
    }
  }

  /** Delete rows behind the outbox's back: what a read returns afterwards came from memory. */
  function deleteRows(upTo: number): void {
    const db = new Database(path);
    db.prepare("DELETE FROM records WHERE seq <= ?").run(upTo);
    db.close();
  }

  const seqs = (records: readonly { seq: number }[]): number[] => records.map((r) => r.seq);

  it("answers exactly as the outbox does, for any start and limits", () => {
    publish(1, 60, 700);
    const reads = new SharedReads(outbox.records, 20_000);
    let seed = 7;
    const random = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 300; i++) {
      const after = random(62);
      const limits = { limit: 1 + random(20), maxBytes: 1 + random(15_000) };
      const shared = reads.readAfter(after, limits);
      const plain = outbox.records.readAfter(after, limits);
      expect(seqs(shared), `after ${after}, ${JSON.stringify(limits)}`).to.deep.equal(seqs(plain));
      shared.forEach((r, j) => expect(r.body.equals(plain[j]!.body)).to.equal(true));
    }
  });

  it("gives a second peer the records a first one read from memory, and continues from SQLite past them", () => {
    publish(1, 10);
    const reads = new SharedReads(outbox.records);
    expect(seqs(reads.readAfter(0, { limit: 5, maxBytes: ALL.maxBytes }))).to.deep.equal([1, 2, 3, 4, 5]);
    deleteRows(5);
    expect(outbox.records.readAfter(0, ALL).map((r) => r.seq)[0], "the rows are gone from the file").to.equal(6);
    expect(seqs(reads.readAfter(0, ALL)), "1–5 from memory, 6–10 from the file").to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(seqs(reads.readAfter(3, { limit: 4, maxBytes: ALL.maxBytes }))).to.deep.equal([4, 5, 6, 7]);
  });

  it("forgets everything it kept when cleared", () => {
    publish(1, 10);
    const reads = new SharedReads(outbox.records);
    reads.readAfter(0, ALL);
    expect(reads.size).to.equal(10);
    reads.clear();
    expect(reads.size).to.equal(0);
    deleteRows(10);
    expect(reads.readAfter(0, ALL)).to.deep.equal([]);
  });

  it("returns at least one record however small the byte limit, as the outbox does", () => {
    publish(1, 3);
    const reads = new SharedReads(outbox.records);
    reads.readAfter(0, ALL);
    for (const maxBytes of [0, 1]) {
      expect(seqs(reads.readAfter(0, { limit: 5, maxBytes })), `maxBytes ${maxBytes}`).to.deep.equal(seqs(outbox.records.readAfter(0, { limit: 5, maxBytes })));
    }
  });

  it("holds at most its byte budget, forgetting the least recently used", () => {
    publish(1, 10, 1000);
    const size = outbox.records.readAfter(0, { limit: 1, maxBytes: 1 })[0]!.size;
    const reads = new SharedReads(outbox.records, 4 * size);
    reads.readAfter(0, ALL);
    expect(reads.size).to.equal(4);
    deleteRows(10);
    expect(seqs(reads.readAfter(6, ALL)), "7–10 are kept").to.deep.equal([7, 8, 9, 10]);
    expect(reads.readAfter(0, ALL), "1–6 were forgotten (and are gone from the file)").to.deep.equal([]);
  });
});
