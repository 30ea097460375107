// The publisher's verify desk over a real outbox: answers only lists the
// session receives (others exactly like lists that never existed), bounds
// each answer, and holds a key to its share of serve's time however fast
// it asks. The clock is ours (a question "costs" what the clock says), so
// the bound is checked without timing anything.

import { expect } from "chai";
import { join } from "node:path";
import { listMatcher } from "../../lib/security/list-match.js";
import { Outbox } from "../../lib/store/outbox.js";
import { decode, encode } from "../../lib/wire/codec.js";
import { MAX_HEADER_BYTES, type Frame } from "../../lib/wire/frames.js";
import { VERIFY_BURST_MS, VERIFY_MS_PER_SECOND, VerifyDesk, type VerifyQuestion } from "../../lib/verify/desk.js";
import { MAX_VERIFY_ENTRIES } from "../../lib/wire/verify-frames.js";
import { makeMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";

describe("verify desk", () => {
  let outbox: Outbox;
  let now = 0;
  let costPerQuestion = 0;
  const sent: Frame[] = [];
  const busy: string[] = [];

  function desk(): VerifyDesk {
    return new VerifyDesk({
      records: outbox.records,
      ackedOf: () => 7,
      send: (_id, frame) => {
        now += costPerQuestion; // answering took this long
        sent.push(frame);
      },
      busy: (_id, message) => busy.push(message),
      clock: () => now,
    });
  }

  const restricted = { peerId: "r", routingId: Buffer.from("r"), lists: listMatcher(["public-*"]) };
  const full = { peerId: "f", routingId: Buffer.from("f"), lists: listMatcher(null) };

  beforeEach(() => {
    outbox = Outbox.open(join(tempDir(), "outbox.db"));
    const recs = Array.from({ length: 40 }, (_, i) => {
      const m = makeMessage(i % 2 === 0 ? "public-a" : "secret", i, 100);
      return { list: m.list, messageId: m.messageId, body: m.body };
    });
    outbox.records.appendMany(recs);
    sent.length = 0;
    busy.length = 0;
    now = 0;
    costPerQuestion = 0;
  });
  afterEach(() => outbox.close());

  /** The bytes of the answers to each question, as a peer would receive them. */
  function answers(session: typeof restricted, q: VerifyQuestion): Buffer[] {
    const d = desk();
    const from = sent.length;
    d.answer(session, q);
    return sent.slice(from).flatMap((f) => encode(f));
  }

  it("a restricted session learns nothing of other lists: the same bytes as for a list that never existed", () => {
    const names = answers(restricted, { type: "vlists", after: "" });
    expect(sent.at(-1)).to.deep.include({ type: "vnames", lists: ["public-a"], more: false, acked: 7 });
    expect(names.length).to.equal(1);
    for (const [real, none] of [["secret", "secreu"]] as const) {
      expect(answers(restricted, { type: "vsum", q: [[real, 1, 40]] })).to.deep.equal(answers(restricted, { type: "vsum", q: [[none, 1, 40]] }));
      // A ventries answer names the list asked about: otherwise the same.
      for (const list of [real, none]) {
        answers(restricted, { type: "ventry", list, from: 1, to: 40 });
        expect(sent.at(-1)).to.deep.equal({ type: "ventries", list, entries: [], more: false });
      }
    }
    // vget of a secret seq (2 is secret: odd i) and of a seq never assigned: the same "missing", no body.
    answers(restricted, { type: "vget", seqs: [2] });
    expect(sent.at(-1)).to.deep.equal({ type: "vgot", missing: [2] });
    answers(restricted, { type: "vget", seqs: [999] });
    expect(sent.at(-1)).to.deep.equal({ type: "vgot", missing: [999] });
    expect(sent.filter((f) => f.type === "data")).to.have.length(0);
    answers(full, { type: "vget", seqs: [2] });
    expect(sent.filter((f) => f.type === "data")).to.have.length(1);
    // The full session does see the secret list.
    answers(full, { type: "vsum", q: [["secret", 1, 40]] });
    expect(sent.at(-1)).to.deep.include({ type: "vsums" }).and.satisfy((f: Frame) => f.type === "vsums" && f.sums[0]![0] === 20);
  });

  it("bounds each answer: at most MAX_VERIFY_ENTRIES entries, `more` for the rest", () => {
    const many = Array.from({ length: MAX_VERIFY_ENTRIES + 10 }, (_, i) => {
      const m = makeMessage("public-a", 1000 + i, 50);
      return { list: m.list, messageId: m.messageId, body: m.body };
    });
    outbox.records.appendMany(many);
    answers(full, { type: "ventry", list: "public-a", from: 1, to: 1_000_000 });
    const last = sent.at(-1)!;
    expect(last.type === "ventries" && last.entries.length).to.equal(MAX_VERIFY_ENTRIES);
    expect(last.type === "ventries" && last.more).to.equal(true);
  });

  it("keeps each answer within the header limit a peer accepts, however long the Message-IDs", () => {
    const long = Array.from({ length: 200 }, (_, i) => ({ list: "public-a", messageId: `<${"x".repeat(900)}.${i}@long>`, body: Buffer.from("x") }));
    outbox.records.appendMany(long);
    const parts = answers(full, { type: "ventry", list: "public-a", from: 1, to: 1_000_000 });
    expect(parts[0]!.length).to.be.at.most(MAX_HEADER_BYTES);
    const last = sent.at(-1)!;
    expect(last.type === "ventries" && last.more).to.equal(true);
    expect(decode(parts)).to.deep.equal(last);
  });

  it("a key asking as fast as it can gets its share of time and then BUSY, never more", () => {
    costPerQuestion = 40; // each question takes 40 ms of serve's time
    const d = desk();
    let answered = 0;
    const seconds = 5;
    const questions = 10_000;
    // The attacker's questions arrive back to back; time passes only as they are answered.
    for (let i = 0; i < questions && now < seconds * 1000; i++) {
      const before = d.counters.answered;
      d.answer(full, { type: "vsum", q: [["public-a", 1, 40]] });
      if (d.counters.answered > before) answered++;
      else now += 1; // a refused question costs (almost) nothing: 1 ms each on this clock
    }
    const allowedMs = VERIFY_BURST_MS + seconds * VERIFY_MS_PER_SECOND;
    expect(answered * costPerQuestion).to.be.at.most(allowedMs + costPerQuestion);
    expect(answered).to.be.greaterThan(0);
    expect(busy.length).to.be.greaterThan(0);
    expect(busy[0]).to.match(/retry in \d+ ms/);
    // Another key is not held back by it.
    const before = d.counters.answered;
    d.answer(restricted, { type: "vlists", after: "" });
    expect(d.counters.answered).to.equal(before + 1);
  });
});
