// The subscriber's state file: identity, position, archived ids, journals,
// dead letters, list filter. Real SQLite files, reopened to prove durability.

import { expect } from "chai";
import Database from "better-sqlite3";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { StateError } from "../../lib/errors.js";
import { Outbox } from "../../lib/store/outbox.js";
import { SubscriberState, type DeadLetterInput } from "../../lib/store/state.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const opened: SubscriberState[] = [];

function open(path: string): SubscriberState {
  const state = SubscriberState.open(path);
  opened.push(state);
  return state;
}

const dead = (seq: number): DeadLetterInput => ({
  sink: "exec:false",
  seq,
  kind: "message",
  list: "dev",
  messageId: `<dead${seq}@x>`,
  receivedAt: 1_764_504_000_000 + seq,
  body: Buffer.from([0x53, 0x3a, 0x0a, 0x0a, 0xff, seq]),
  error: "exit status 65",
  attempts: 5,
});

describe("SubscriberState", () => {
  let path: string;

  beforeEach(() => {
    path = join(tempDir(), "state.db");
  });

  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
  });

  it("starts with a peer id, position 0, no outbox and no list filter", () => {
    const state = open(path);
    expect(state.peerId).to.match(/^[0-9a-f-]{36}$/);
    expect(state.position).to.equal(0);
    expect(state.outboxId).to.equal(null);
    expect(state.lists).to.equal(null);
    expect(state.deadLetters()).to.deep.equal([]);
    expect(open(join(tempDir(), "other.db")).peerId).to.not.equal(state.peerId);
  });

  it("adopts an outbox from its beginning, keeping what was archived", () => {
    const state = open(path);
    state.adoptOutbox("outbox-1");
    state.commit({ position: 9, archived: [{ list: "dev", messageId: "<a@x>", seq: 9 }], deadLetters: [] });
    state.adoptOutbox("outbox-2");
    expect([state.outboxId, state.position]).to.deep.equal(["outbox-2", 0]);
    expect(state.findArchived("dev", "<a@x>")).to.equal(9);
  });

  it("records a start point with the outbox and the position it resolved to, in one commit that survives a reopen", async () => {
    const state = open(path);
    expect(state.start).to.equal(null);
    state.recordStart("outbox-1", "time:2026-12-01T00:00:00.000Z", 41);
    state.commit({ position: 45, archived: [], deadLetters: [] });
    await state.close();
    const again = open(path);
    expect(again.start).to.deep.equal({ start: "time:2026-12-01T00:00:00.000Z", position: 41 });
    expect([again.outboxId, again.position]).to.deep.equal(["outbox-1", 45]);
  });

  it("commits the position, archived Message-IDs and dead letters together", () => {
    const state = open(path);
    state.adoptOutbox("ob");
    state.commit({
      position: 3,
      archived: [
        { list: "dev", messageId: "<1@x>", seq: 1 },
        { list: "ops", messageId: "<1@x>", seq: 3 },
      ],
      deadLetters: [dead(2)],
    });
    expect(state.position).to.equal(3);
    expect(state.findArchived("dev", "<1@x>")).to.equal(1);
    expect(state.findArchived("ops", "<1@x>")).to.equal(3);
    expect(state.findArchived("users", "<1@x>")).to.equal(undefined);
    expect(state.findArchived("dev", "<2@x>")).to.equal(undefined);
    const [letter, ...rest] = state.deadLetters();
    expect(rest).to.deep.equal([]);
    const { id, failedAt, body, ...fields } = letter!;
    expect(fields).to.deep.equal({ ...withoutBody(dead(2)), outbox: "ob", status: "dead" });
    expect(body.equals(dead(2).body)).to.equal(true);
    expect(id).to.be.a("number");
    expect(failedAt).to.be.a("number");
  });

  it("keeps the first seq when a Message-ID is archived again", () => {
    const state = open(path);
    state.commit({ position: 1, archived: [{ list: "dev", messageId: "<m@x>", seq: 1 }], deadLetters: [] });
    state.commit({ position: 5, archived: [{ list: "dev", messageId: "<m@x>", seq: 5 }], deadLetters: [] });
    expect([state.position, state.findArchived("dev", "<m@x>")]).to.deep.equal([5, 1]);
    state.close(); // written to the table: the first seq still wins
    const again = open(path);
    expect(again.findArchived("dev", "<m@x>")).to.equal(1);
  });

  it("writes the archived entries of a last commit soon, with no later commit or close (a crash then keeps them)", async () => {
    const state = open(path);
    state.commit({ position: 3, archived: [{ list: "dev", messageId: "<idle@x>", seq: 3 }], deadLetters: [] });
    const other = new Database(path, { readonly: true });
    try {
      const rows = () => other.prepare("SELECT count(*) FROM archived").pluck().get() as number;
      expect(rows(), "pending right after the commit").to.equal(0);
      await waitFor(() => rows() === 1, { timeoutMs: 5000, what: "the flush timer to write the entry" });
    } finally {
      other.close();
    }
  });

  it("finds archived Message-IDs among thousands, written or not, per list", () => {
    const state = open(path);
    const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ list: i % 2 ? "dev" : "ops", messageId: `<${from + i}@x>`, seq: from + i }));
    state.commit({ position: 9999, archived: ids(0, 10_000), deadLetters: [] }); // past the flush threshold: written
    state.commit({ position: 10_099, archived: ids(10_000, 10_100), deadLetters: [] }); // pending
    for (const n of [0, 1, 4321, 9999, 10_000, 10_099]) {
      const list = n % 2 ? "dev" : "ops";
      expect([state.findArchived(list, `<${n}@x>`), state.findArchived(list === "dev" ? "ops" : "dev", `<${n}@x>`)]).to.deep.equal([n, undefined]);
    }
    expect(state.findArchived("dev", "<10100@x>")).to.equal(undefined);
  });

  it("keeps one journal per sink", async () => {
    const state = open(path);
    const a = state.journal("mbox:/a");
    const b = state.journal("maildir:/b");
    expect(a.get()).to.equal(undefined);
    await a.set({ lastSeq: 4, sizes: { "/a/dev.mbox": 1234 } });
    await b.set([1, 2]);
    expect(a.get()).to.deep.equal({ lastSeq: 4, sizes: { "/a/dev.mbox": 1234 } });
    expect(state.journal("maildir:/b").get()).to.deep.equal([1, 2]);
    await a.set(null);
    expect(a.get()).to.equal(null);
    expect(b.get()).to.deep.equal([1, 2]);
  });

  it("stores and clears the list filter", () => {
    const state = open(path);
    state.setLists(["dev", "ops-*"]);
    expect(state.lists).to.deep.equal(["dev", "ops-*"]);
    state.setLists(null);
    expect(state.lists).to.equal(null);
  });

  it("keeps everything across reopening", async () => {
    const first = open(path);
    const peerId = first.peerId;
    first.adoptOutbox("ob");
    first.setLists(["dev"]);
    await first.journal("mbox:/a").set({ lastSeq: 7 });
    first.commit({ position: 7, archived: [{ list: "dev", messageId: "<7@x>", seq: 7 }], deadLetters: [dead(6)] });
    first.close();
    const again = open(path);
    expect([again.peerId, again.outboxId, again.position, again.lists]).to.deep.equal([peerId, "ob", 7, ["dev"]]);
    expect(again.findArchived("dev", "<7@x>")).to.equal(7);
    expect(again.journal("mbox:/a").get()).to.deep.equal({ lastSeq: 7 });
    expect(again.deadLetters().map((d) => [d.seq, d.messageId, d.outbox])).to.deep.equal([[6, "<dead6@x>", "ob"]]);
    expect(again.check()).to.equal(null);
  });

  it("refuses a file that is not a database as STATE_CORRUPT", () => {
    writeFileSync(path, "plain text, not SQLite\n".repeat(100));
    expect(() => SubscriberState.open(path)).to.throw(StateError).with.property("code", "STATE_CORRUPT");
  });

  it("refuses an outbox file given as the state file", () => {
    const outboxPath = join(tempDir(), "outbox.db");
    Outbox.open(outboxPath).close();
    expect(() => SubscriberState.open(outboxPath)).to.throw(StateError);
  });

  // Regression test (fixed): lib/store/state.ts SubscriberState constructor prepares its statements before the "no peer id: not an mq-archive state file" check, so an outbox file...
  it("refuses an outbox file given as the state file as STATE_CORRUPT", () => {
    const outboxPath = join(tempDir(), "outbox.db");
    Outbox.open(outboxPath).close();
    expect(() => SubscriberState.open(outboxPath)).to.throw(StateError).with.property("code", "STATE_CORRUPT");
  });

  // Regression test (fixed): lib/store/state.ts SubscriberState.open migrates any database whose user_version is below 1, i.e. any foreign SQLite file, adding its tables and a...
  it("refuses a foreign SQLite database instead of adding its tables to it", () => {
    const foreign = new Database(path);
    foreign.exec("CREATE TABLE app (id INTEGER PRIMARY KEY)");
    foreign.close();
    expect(() => SubscriberState.open(path).close()).to.throw(StateError).with.property("code", "STATE_CORRUPT");
  });
});

function withoutBody(d: DeadLetterInput): Omit<DeadLetterInput, "body"> {
  const { body: _body, ...rest } = d;
  return rest;
}
