// The reorder buffer that joins the PUB and ROUTER feeds into one gap-free
// chain. Pure: entries in, released entries out.

import { expect } from "chai";
import { ReorderBuffer, type ChainEntry, type ReorderLimits } from "../../lib/subscriber/reorder.js";

interface Entry extends ChainEntry {
  tag: string;
}

const ROOMY: ReorderLimits = { maxEntries: 1000, maxBytes: 1 << 30 };

const e = (prev: number, seq: number, bytes = 10, tag = `${prev}->${seq}`): Entry => ({ prev, seq, bytes, tag });
const seqs = (entries: readonly Entry[]): number[] => entries.map((x) => x.seq);

describe("ReorderBuffer", () => {
  it("releases entries that arrive in order, at once", () => {
    const buf = new ReorderBuffer<Entry>(0, ROOMY);
    expect(buf.offer(e(0, 1))).to.equal("released");
    expect(buf.offer(e(1, 2))).to.equal("released");
    expect(buf.position).to.equal(2);
    expect(seqs(buf.take())).to.deep.equal([1, 2]);
    expect(buf.take()).to.deep.equal([]);
    expect(buf.hasGap).to.equal(false);
  });

  it("calls anything at or below the position a duplicate", () => {
    const buf = new ReorderBuffer<Entry>(5, ROOMY);
    expect(buf.offer(e(4, 5))).to.equal("duplicate");
    expect(buf.offer(e(0, 3))).to.equal("duplicate");
    expect(buf.offer(e(5, 6))).to.equal("released");
    expect(buf.offer(e(5, 6))).to.equal("duplicate");
    expect(seqs(buf.take())).to.deep.equal([6]);
  });

  it("holds entries past a gap and releases them in chain order when it fills", () => {
    const buf = new ReorderBuffer<Entry>(0, ROOMY);
    expect(buf.offer(e(3, 4))).to.equal("held");
    expect(buf.offer(e(2, 3))).to.equal("held");
    expect(buf.offer(e(3, 4))).to.equal("duplicate"); // same copy again while held
    expect(buf.heldCount).to.equal(2);
    expect(buf.bytesHeld).to.equal(20);
    expect(buf.hasGap).to.equal(true);
    expect(buf.take()).to.deep.equal([]);
    expect(buf.offer(e(1, 2))).to.equal("held");
    expect(buf.offer(e(0, 1))).to.equal("released");
    expect(seqs(buf.take())).to.deep.equal([1, 2, 3, 4]);
    expect(buf.position).to.equal(4);
    expect(buf.heldCount).to.equal(0);
    expect(buf.bytesHeld).to.equal(0);
  });

  it("releases an entry when prev <= position < seq (a pass over records not for us)", () => {
    const buf = new ReorderBuffer<Entry>(5, ROOMY);
    // prev below the position: the entry still covers (5, 9].
    expect(buf.offer(e(3, 9))).to.equal("released");
    expect(buf.position).to.equal(9);
    // A held entry whose prev was overtaken, but whose seq was not, follows too.
    expect(buf.offer(e(12, 13))).to.equal("held");
    expect(buf.offer(e(10, 14))).to.equal("held");
    expect(buf.offer(e(9, 11))).to.equal("released");
    expect(seqs(buf.take())).to.deep.equal([9, 11, 14]);
  });

  it("discards held entries the chain has passed, through onDiscard", () => {
    const buf = new ReorderBuffer<Entry>(0, ROOMY);
    buf.offer(e(2, 3, 7));
    buf.offer(e(4, 5, 7));
    buf.offer(e(8, 9, 7));
    const discarded: Entry[] = [];
    // One pass frame covers (0, 6]: the held 3 and 5 are stale now.
    expect(buf.offer(e(0, 6), (x) => discarded.push(x))).to.equal("released");
    expect(seqs(discarded).sort((a, b) => a - b)).to.deep.equal([3, 5]);
    expect(seqs(buf.take())).to.deep.equal([6]);
    expect(buf.heldCount).to.equal(1);
    expect(buf.bytesHeld).to.equal(7);
    expect(buf.offer(e(6, 8))).to.equal("released");
    expect(seqs(buf.take())).to.deep.equal([8, 9]);
  });

  it("drops what does not fit within maxEntries", () => {
    const buf = new ReorderBuffer<Entry>(0, { maxEntries: 2, maxBytes: 1 << 30 });
    expect(buf.offer(e(1, 2))).to.equal("held");
    expect(buf.offer(e(2, 3))).to.equal("held");
    expect(buf.offer(e(3, 4))).to.equal("dropped");
    expect(buf.heldCount).to.equal(2);
    // The next entry in line is never dropped: it does not need holding.
    expect(buf.offer(e(0, 1))).to.equal("released");
    expect(seqs(buf.take())).to.deep.equal([1, 2, 3]);
    expect(buf.offer(e(3, 4))).to.equal("released");
  });

  it("drops what does not fit within maxBytes", () => {
    const buf = new ReorderBuffer<Entry>(0, { maxEntries: 100, maxBytes: 100 });
    expect(buf.offer(e(1, 2, 60))).to.equal("held");
    expect(buf.offer(e(2, 3, 41))).to.equal("dropped");
    expect(buf.offer(e(2, 3, 40))).to.equal("held");
    expect(buf.bytesHeld).to.equal(100);
    expect(buf.offer(e(3, 4, 1))).to.equal("dropped");
  });

  it("reset discards everything held or untaken and starts at the new position", () => {
    const buf = new ReorderBuffer<Entry>(0, ROOMY);
    buf.offer(e(0, 1));
    buf.offer(e(5, 6));
    const discarded: Entry[] = [];
    buf.reset(100, (x) => discarded.push(x));
    expect(seqs(discarded).sort((a, b) => a - b)).to.deep.equal([1, 6]);
    expect(buf.take()).to.deep.equal([]);
    expect(buf.position).to.equal(100);
    expect(buf.heldCount).to.equal(0);
    expect(buf.bytesHeld).to.equal(0);
    expect(buf.offer(e(6, 7))).to.equal("duplicate");
    expect(buf.offer(e(100, 101))).to.equal("released");
  });

  it("rebuilds a shuffled, doubled, lossy feed into the exact chain, once each", () => {
    let state = 20261130;
    const rand = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 8) % n;
    };
    const shuffle = <T>(items: T[]): T[] => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = rand(i + 1);
        [items[i], items[j]] = [items[j]!, items[i]!];
      }
      return items;
    };

    for (const limits of [ROOMY, { maxEntries: 16, maxBytes: 2000 }]) {
      // A chain with gaps in the seqs, as a filtered stream has.
      const chain: Entry[] = [];
      let seq = 0;
      for (let i = 0; i < 400; i++) {
        const next = seq + 1 + rand(3);
        chain.push(e(seq, next, 1 + rand(100), `#${i}`));
        seq = next;
      }
      const buf = new ReorderBuffer<Entry>(0, limits);
      const released: Entry[] = [];
      let discarded = 0;
      const offer = (x: Entry): void => {
        buf.offer({ ...x }, () => discarded++);
        released.push(...buf.take());
      };
      // Two feeds' worth of copies, shuffled, a fifth of them lost.
      for (const x of shuffle([...chain, ...chain])) if (rand(5) !== 0) offer(x);
      // Repair: re-offer whatever is still missing until the chain is complete.
      for (let round = 0; buf.position < seq && round < chain.length; round++) {
        for (const x of shuffle(chain.filter((c) => c.seq > buf.position))) offer(x);
      }
      expect(released.map((x) => x.tag)).to.deep.equal(chain.map((x) => x.tag));
      expect(buf.position).to.equal(seq);
      expect(buf.heldCount).to.equal(0);
      expect(buf.bytesHeld).to.equal(0);
      expect(discarded).to.equal(0);
    }
  });
});
