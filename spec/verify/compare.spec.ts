// The narrowing comparison between a real outbox's ledger (answered by the
// publisher's desk, frames passed without sockets) and a real subscriber
// state: finds exactly what differs, with an exchange that grows with the
// differences, and copes with answers cut short (`split`, prefixes).

import { expect } from "chai";
import { join } from "node:path";
import { ALL_LISTS } from "../../lib/security/list-match.js";
import { Outbox } from "../../lib/store/outbox.js";
import { SubscriberState } from "../../lib/store/state.js";
import { ArchiveView } from "../../lib/verify/archive-view.js";
import { compare, type LedgerSide } from "../../lib/verify/compare.js";
import { VerifyDesk } from "../../lib/verify/desk.js";
import type { Frame } from "../../lib/wire/frames.js";
import { tempDir } from "../helpers/tmp.js";

/**
 * The desk's answers without sockets. With `olderServe`, the answers are cut
 * the way a serve before outbox schema 6 cut them (it summed rows, at most
 * this many a question): only the prefix of the ranges that fits, and
 * `split` when the first range alone is over. A fake of that older serve,
 * which this build cannot run: it forwards to the real desk and shortens
 * its answer.
 */
function ledgerSide(outbox: Outbox, olderServe?: { rowBudget: number }): LedgerSide & { questions: number; splits: number } {
  let answer: Frame | null = null;
  const desk = new VerifyDesk({ records: outbox.records, ackedOf: () => 0, send: (_id, f) => (answer = f), busy: () => {} });
  const session = { peerId: "p", routingId: Buffer.alloc(1), lists: ALL_LISTS };
  const side = {
    questions: 0,
    splits: 0,
    async sums(q: Parameters<LedgerSide["sums"]>[0]) {
      side.questions++;
      desk.answer(session, { type: "vsum", q });
      const a = answer as Frame | null;
      if (a?.type !== "vsums") return { sums: [], split: false };
      expect(a.sums).to.have.length(q.length); // this serve answers every range
      if (olderServe === undefined) return { sums: a.sums, split: a.split };
      let left = olderServe.rowBudget;
      const sums = [];
      for (const sum of a.sums) {
        if (sum[0] > left) break;
        sums.push(sum);
        left -= sum[0];
      }
      const split = sums.length === 0;
      if (split) side.splits++;
      return { sums, split };
    },
    async entries(list: string, from: number, to: number) {
      side.questions++;
      desk.answer(session, { type: "ventry", list, from, to });
      const a = answer as Frame | null;
      return a?.type === "ventries" ? { entries: a.entries, more: a.more } : { entries: [], more: false };
    },
  };
  return side;
}

describe("verify comparison", () => {
  const N = 3000;
  let outbox: Outbox;
  let state: SubscriberState;
  const mid = (i: number) => `<${i}@compare>`;
  const listOf = (i: number) => (i % 3 === 0 ? "a" : "b");

  beforeEach(() => {
    const dir = tempDir();
    outbox = Outbox.open(join(dir, "outbox.db"));
    outbox.records.appendMany(Array.from({ length: N }, (_, i) => ({ list: listOf(i), messageId: mid(i), body: Buffer.from("x") })));
    state = SubscriberState.open(join(dir, "state.db"));
    state.adoptOutbox(outbox.id);
  });
  afterEach(async () => {
    await state.close();
    await outbox.close();
  });

  function archive(skip: Set<number>, extra: number[] = []): void {
    const entries = [];
    for (let i = 0; i < N; i++) if (!skip.has(i)) entries.push({ list: listOf(i), messageId: mid(i), seq: i + 1 });
    for (const e of extra) entries.push({ list: "a", messageId: `<extra-${e}@compare>`, seq: e });
    state.commit({ position: N, archived: entries, deadLetters: [] });
  }

  it("an identical archive agrees in one question per list", async () => {
    archive(new Set());
    const side = ledgerSide(outbox);
    const r = await compare(["a", "b"], 1, N, side, new ArchiveView(state.archivedView(), N));
    expect(r.differences).to.deep.equal([]);
    expect(side.questions).to.equal(1);
  });

  it("finds exactly the missing and the extra records, narrowing, with answers cut short", async () => {
    const skip = new Set([0, 1, 1500, 2999]);
    archive(skip, [N + 5]);
    const side = ledgerSide(outbox, { rowBudget: 300 }); // an older serve's small budget: top ranges are answered `split` and in prefixes
    const r = await compare(["a", "b"], 1, N + 10, side, new ArchiveView(state.archivedView(), N + 10));
    const missing = r.differences.flatMap((d) => d.missing.map((m) => m.seq)).sort((x, y) => x - y);
    expect(missing).to.deep.equal([...skip].map((i) => i + 1).sort((x, y) => x - y));
    expect(r.differences.find((d) => d.list === "b")!.missing.map((m) => m.messageId)).to.deep.equal([mid(1), mid(2999)]);
    expect(r.differences.find((d) => d.list === "a")!.extra.map((e) => e.seq)).to.deep.equal([N + 5]);
    expect(side.questions).to.be.lessThan(100);
    expect(side.splits).to.be.greaterThan(0);
  });

  it("finds the same against a serve that answers every range", async () => {
    const skip = new Set([0, 1, 1500, 2999]);
    archive(skip, [N + 5]);
    const side = ledgerSide(outbox);
    const r = await compare(["a", "b"], 1, N + 10, side, new ArchiveView(state.archivedView(), N + 10));
    expect(r.differences.flatMap((d) => d.missing.map((m) => m.seq)).sort((x, y) => x - y)).to.deep.equal([1, 2, 1501, 3000]);
    expect(r.differences.find((d) => d.list === "a")!.extra.map((e) => e.seq)).to.deep.equal([N + 5]);
    expect(side.questions).to.be.lessThan(40);
  });
});
