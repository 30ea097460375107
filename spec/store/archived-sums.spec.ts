// The running totals of a subscriber's archived entries: a range's sum
// equals the brute-force sum over what the archived table really holds,
// whatever order entries came in (batches, repeated Message-IDs that are
// not archived again, repairs of old seqs, a repair at a seq that already
// has an entry), per outbox; and the upgrade from state schema 1 computes
// them from the archived rows. Real state files; the brute force reads the
// archived table on a connection of its own.

import { expect } from "chai";
import Database from "better-sqlite3";
import { join } from "node:path";
import { digestOfKey, type RangeSum } from "../../lib/store/ledger.js";
import { SubscriberState, type ArchivedRows } from "../../lib/store/state.js";
import { seeded } from "../helpers/seeded.js";
import { tempDir } from "../helpers/tmp.js";

interface Row {
  list: string;
  seq: number;
  outbox: string;
  key: Buffer;
}

const opened: SubscriberState[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

function open(path: string): SubscriberState {
  const state = SubscriberState.open(path);
  opened.push(state);
  return state;
}

function archivedRows(path: string): Row[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT list, seq, outbox, mid_hash AS key FROM archived").all() as Row[];
  } finally {
    db.close();
  }
}

function brute(rows: readonly Row[], outbox: string, list: string, from: number, to: number): RangeSum {
  let n = 0;
  let hi = 0;
  let lo = 0;
  for (const r of rows) {
    if (r.outbox !== outbox || r.list !== list || r.seq < from || r.seq > to) continue;
    const d = digestOfKey(r.key);
    n++;
    hi = (hi + d.hi) >>> 0;
    lo = (lo + d.lo) >>> 0;
  }
  return [n, hi, lo];
}

/** Every list's whole range and `count` random ranges agree with the brute force. */
function checkRanges(view: ArchivedRows, rows: readonly Row[], outbox: string, lists: readonly string[], top: number, count: number, seed: number): void {
  const random = seeded(seed);
  for (const list of lists) {
    expect(view.sum(list, 1, top), list).to.deep.equal(brute(rows, outbox, list, 1, top));
    for (let k = 0; k < count; k++) {
      const from = random(top + 4) - 2;
      const to = from + random(Math.ceil(top / 3));
      expect(view.sum(list, from, to), `${list} [${from}, ${to}]`).to.deep.equal(brute(rows, outbox, list, from, to));
    }
  }
}

const LISTS = ["dev", "ops", "users"];

describe("archived entries' running totals", () => {
  it("a range's sum equals the brute-force sum over the archived table, whatever order entries came in", () => {
    const path = join(tempDir(), "state.db");
    const state = open(path);
    state.adoptOutbox("outbox-1");
    const random = seeded(20261206);
    const mid = (i: number) => `<${i}@sums>`;
    let seq = 0;
    let ignored = 0;
    const done = new Map<string, string[]>(LISTS.map((l) => [l, []]));
    const skipped: Array<{ list: string; messageId: string; seq: number }> = [];
    for (let batch = 0; batch < 12; batch++) {
      const archived = [];
      for (let k = 0; k < 40; k++) {
        seq += 1 + random(3);
        const entry = { list: LISTS[random(3)]!, messageId: mid(seq), seq };
        if (random(8) === 0) skipped.push(entry); // lost: repaired later, out of order
        else {
          archived.push(entry);
          done.get(entry.list)!.push(entry.messageId);
        }
        // A Message-ID the list archived already (in this batch or before), as a new record: not archived again, not counted.
        const before = done.get(entry.list)!;
        if (random(6) === 0 && before.length > 0) {
          archived.push({ list: entry.list, messageId: before[random(before.length)]!, seq: seq + 1 });
          ignored++;
        }
      }
      state.commit({ position: seq, archived, deadLetters: [] });
      if (batch % 3 === 2) state.archivedView(); // flushes: several flushes, each appending to the lists
    }
    // Repairs: old seqs, in random order, and one at a seq that already holds an entry (another Message-ID).
    skipped.sort(() => random(3) - 1);
    const taken = archivedRows(path).find((r) => r.list === "dev")!.seq;
    state.commitRepaired(skipped.slice(0, skipped.length / 2));
    state.commitRepaired([...skipped.slice(skipped.length / 2), { list: "dev", messageId: "<again@sums>", seq: taken }]);

    const view = state.archivedView();
    const rows = archivedRows(path);
    expect(ignored).to.be.greaterThan(20);
    expect(skipped.length).to.be.greaterThan(20);
    expect(rows.length).to.equal(12 * 40 + 1); // every record once, and the second entry at `taken`: repeated Message-IDs were not archived again
    checkRanges(view, rows, "outbox-1", LISTS, seq, 150, 1);
    expect(view.sum("dev", taken, taken)[0]).to.equal(2);
    expect(view.lists()).to.deep.equal(LISTS);
    expect(view.sum("nonexistent", 1, seq)).to.deep.equal([0, 0, 0]);

    // Another outbox's entries are summed apart; the view is the followed outbox's.
    state.adoptOutbox("outbox-2");
    state.commit({ position: 3, archived: [{ list: "new", messageId: "<n1@sums>", seq: 2 }, { list: "dev", messageId: "<n2@sums>", seq: 3 }], deadLetters: [] });
    const view2 = state.archivedView();
    const rows2 = archivedRows(path);
    expect(view2.lists()).to.deep.equal(["dev", "new"]);
    checkRanges(view2, rows2, "outbox-2", ["dev", "new"], 5, 20, 2);
    expect(view2.sum("dev", 1, seq)[0]).to.equal(1);
  });

  it("the upgrade from state schema 1 computes the totals from the archived rows", async () => {
    const path = join(tempDir(), "state.db");
    const first = open(path);
    first.adoptOutbox("outbox-1");
    const archived = Array.from({ length: 600 }, (_, i) => ({ list: LISTS[i % 3]!, messageId: `<${i}@up>`, seq: i + 1 }));
    first.commit({ position: 600, archived, deadLetters: [] });
    first.commitRepaired([{ list: "ops", messageId: "<twice@up>", seq: 2 }]); // a seq with two entries
    first.adoptOutbox("outbox-2");
    first.commit({ position: 5, archived: [{ list: "dev", messageId: "<o2@up>", seq: 5 }], deadLetters: [] });
    await first.close();
    opened.splice(0);
    const db = new Database(path);
    db.exec("DROP TABLE archived_sums; DROP TABLE archived_lists; PRAGMA user_version = 1");
    db.close();

    const state = open(path);
    const check = new Database(path, { readonly: true });
    expect(check.pragma("user_version", { simple: true })).to.equal(2);
    check.close();
    const rows = archivedRows(path);
    const view = state.archivedView();
    checkRanges(view, rows, "outbox-2", ["dev"], 10, 10, 3);
    expect(view.sum("dev", 1, 10)[0]).to.equal(1);
    state.adoptOutbox("outbox-1");
    checkRanges(state.archivedView(), rows, "outbox-1", LISTS, 600, 100, 4);
    expect(state.archivedView().sum("ops", 2, 2)[0]).to.equal(2);
    // New entries append after the upgraded rows.
    state.commit({ position: 610, archived: [{ list: "dev", messageId: "<after@up>", seq: 610 }], deadLetters: [] });
    checkRanges(state.archivedView(), archivedRows(path), "outbox-1", LISTS, 610, 50, 5);
  });
});
