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

function ledgerSide(outbox: Outbox, rowBudget: number): LedgerSide & { questions: number } {
  let answer: Frame | null = null;
  const desk = new VerifyDesk({ records: outbox.records, ackedOf: () => 0, send: (_id, f) => (answer = f), busy: () => {}, rowBudget });
  const session = { peerId: "p", routingId: Buffer.alloc(1), lists: ALL_LISTS };
  const side = {
    questions: 0,
    async sums(q: Parameters<LedgerSide["sums"]>[0]) {
      side.questions++;
      desk.answer(session, { type: "vsum", q });
      const a = answer as Frame | null;
      return a?.type === "vsums" ? { sums: a.sums, split: a.split } : { sums: [], split: false };
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
    const side = ledgerSide(outbox, 100_000);
    const r = await compare(["a", "b"], 1, N, side, new ArchiveView(state.archivedView(), N));
    expect(r.differences).to.deep.equal([]);
    expect(side.questions).to.equal(1);
  });

  it("finds exactly the missing and the extra records, narrowing, with answers cut short", async () => {
    const skip = new Set([0, 1, 1500, 2999]);
    archive(skip, [N + 5]);
    const side = ledgerSide(outbox, 300); // a small budget: top ranges are answered `split` and in prefixes
    const r = await compare(["a", "b"], 1, N + 10, side, new ArchiveView(state.archivedView(), N + 10));
    const missing = r.differences.flatMap((d) => d.missing.map((m) => m.seq)).sort((x, y) => x - y);
    expect(missing).to.deep.equal([...skip].map((i) => i + 1).sort((x, y) => x - y));
    expect(r.differences.find((d) => d.list === "b")!.missing.map((m) => m.messageId)).to.deep.equal([mid(1), mid(2999)]);
    expect(r.differences.find((d) => d.list === "a")!.extra.map((e) => e.seq)).to.deep.equal([N + 5]);
    expect(side.questions).to.be.lessThan(100);
  });
});
