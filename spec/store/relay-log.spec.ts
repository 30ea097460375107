// A relay's outbox (store/relay-log.ts): the origin's identity and seqs,
// replays skipped, a floor below which it holds nothing, and one origin per
// file. Real SQLite files in temp dirs; two handles on one file stand for
// the relay's subscribe (writing) and its serve (reading).

import { expect } from "chai";
import { join } from "node:path";
import { OutboxError } from "../../lib/errors.js";
import { Outbox } from "../../lib/store/outbox.js";
import { PENDING, type RelayedRecord } from "../../lib/store/relay-log.js";
import { tempDir } from "../helpers/tmp.js";

const ORIGIN = "5f0c2a9e-1b7d-4c3e-9a51-0d2e6f7a8b90";

function record(seq: number, list = "dev@lists.example.org", outbox = ORIGIN): RelayedRecord {
  return { outbox, seq, kind: "message", list, messageId: `<m${seq}@x>`, receivedAt: 1_700_000_000_000 + seq, body: Buffer.from(`message ${seq}\n`) };
}

describe("relay outbox", () => {
  let path: string;
  const open: Outbox[] = [];
  const openOutbox = () => {
    const o = Outbox.open(path);
    open.push(o);
    return o;
  };
  beforeEach(() => (path = join(tempDir("mqa-relay-"), "relay.db")));
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });

  it("takes the origin's id with its first record; serve's open handle sees it without reopening", () => {
    const serve = openOutbox(); // serve opened the file first: a plain empty outbox
    const relay = openOutbox();
    relay.relay.claim(null);
    expect(relay.relay.role()).to.equal(PENDING);
    expect(serve.identity(), "a relay that has not learnt its origin").to.equal(null);
    expect(relay.relay.append([record(3), record(7)])).to.equal(2);
    expect(serve.identity()).to.equal(ORIGIN);
    expect(serve.id).to.equal(ORIGIN);
    expect(serve.records.head()).to.equal(7);
    expect(serve.records.readAfter(0, { limit: 10, maxBytes: 1e9 }).map((r) => [r.seq, r.receivedAt])).to.deep.equal([
      [3, record(3).receivedAt],
      [7, record(7).receivedAt],
    ]);
    expect(serve.records.stats()).to.include({ count: 2, head: 7, first: 3 });
    expect(serve.records.ledger.entries("dev@lists.example.org", 0, 100, 10).map((e) => e.seq), "the ledger has what the relay holds").to.deep.equal([3, 7]);
  });

  it("a relay that begins mid-history has that floor, and its ledger knows records from there on", () => {
    const relay = openOutbox();
    relay.relay.claim(ORIGIN);
    relay.relay.begin(20);
    relay.relay.append([record(21)]);
    expect(relay.identityNow().relayFloor).to.equal(20);
    expect(relay.records.ledger.since()).to.equal(21);
  });

  it("skips replays and a Message-ID the list holds already, and keeps the head at the last seq handled", () => {
    const relay = openOutbox();
    relay.relay.append([record(1), record(2)]);
    expect(relay.relay.append([record(1), record(2), record(3)]), "1 and 2 again").to.equal(1);
    const republished = { ...record(9), messageId: "<m3@x>" }; // the origin pruned seq 3, then took the same message again
    expect(relay.relay.append([republished])).to.equal(0);
    expect(relay.records.head()).to.equal(9);
    expect(relay.records.readAfter(0, { limit: 10, maxBytes: 1e9 }).map((r) => r.seq)).to.deep.equal([1, 2, 3]);
  });

  it("refuses an outbox with records of its own, and records of another origin", () => {
    const origin = openOutbox();
    origin.records.append({ list: "dev@lists.example.org", messageId: "<own@x>", body: Buffer.from("x") });
    expect(() => origin.relay.claim(ORIGIN)).to.throw(OutboxError, "records of its own");

    path = join(tempDir("mqa-relay-"), "relay.db");
    const relay = openOutbox();
    relay.relay.append([record(1)]);
    const other = "0b5e3c1a-2d4f-4a6b-8c9d-1e2f3a4b5c6d";
    expect(() => relay.relay.append([record(2, "dev@lists.example.org", other)])).to.throw(OutboxError, "into a new file");
    expect(relay.records.head(), "nothing of the other origin stored").to.equal(1);
    expect(relay.identity()).to.equal(ORIGIN);
  });

  it("keeps a floor that only rises: where it started, then what it pruned", () => {
    const relay = openOutbox();
    relay.relay.claim(ORIGIN);
    relay.relay.raiseFloor(40);
    relay.relay.raiseFloor(10);
    expect(relay.identityNow()).to.deep.equal({ id: ORIGIN, relayFloor: 40 });
    relay.relay.append([41, 42, 43, 44].map((s) => record(s)));
    relay.peers.write([{ id: "peer", name: "mirror", lists: null, acked: 43, at: Date.now() }], []);
    const pruned = relay.pruneAcknowledged(Date.now() + 1);
    expect(pruned).to.be.greaterThan(0);
    expect(relay.identityNow().relayFloor).to.equal(relay.records.first() - 1);
  });

  it("an origin outbox has no floor", () => {
    const origin = openOutbox();
    expect(origin.identityNow()).to.deep.equal({ id: origin.id, relayFloor: null });
  });
});
