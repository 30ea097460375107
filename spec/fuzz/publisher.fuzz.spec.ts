// Property test of a real publisher under hostile, authenticated peers:
// generated sequences of frames (valid, forged, garbage, truncated, wrong
// version, wrong type, huge credit, acks for seqs never sent, hello floods,
// hostile list globs)
// from a restricted peer and an attacker, over real CURVE sockets. Whatever
// they send: the restricted peer never sees another list, nobody gets more
// data than the credit they granted, nobody moves another peer's position,
// and a well-behaved peer afterwards still receives everything.

import { expect } from "chai";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { join } from "node:path";
import * as zmq from "zeromq";
import { Outbox, Publisher, Subscriber, type SinkRecord } from "../../lib/index.js";
import { MAX_CREDIT } from "../../lib/publisher/session.js";
import { generateKeyPair, type KeyPair } from "../../lib/security/keys.js";
import { PeerAcl } from "../../lib/security/peers-file.js";
import { makeProof } from "../../lib/security/proof.js";
import { encode } from "../../lib/wire/codec.js";
import { PROTOCOL_VERSION } from "../../lib/wire/frames.js";
import { makeMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { fuzzParameters, fuzzTimeout } from "./runs.js";

const packr = new Packr({ useRecords: false });
const RECORDS = 120;
const RECORD_SIZE = 2000;

type Who = "restricted" | "attacker";
type Action =
  /** A client holds only its own secret key: its proof is its own, or garbage. */
  | { kind: "hello"; claim: Who | "full"; proof: "own" | "garbage"; from: number; credit: number; lists: string[] | null; start: string | null }
  | { kind: "fetch"; from: number; credit: number }
  | { kind: "credit"; bytes: number }
  | { kind: "ack"; seq: number }
  | { kind: "hb"; seq: number }
  | { kind: "bye" }
  | { kind: "raw"; parts: Uint8Array[] }
  | { kind: "forged"; type: string; version: number };

const position = fc.oneof(fc.nat({ max: RECORDS + 5 }), fc.nat({ max: Number.MAX_SAFE_INTEGER }));
const credit = fc.oneof(fc.nat({ max: 50_000 }), fc.constant(Number.MAX_SAFE_INTEGER), fc.nat({ max: 1 << 30 }));
/** Names, and hostile globs: runs of stars and ?s that a backtracking matcher takes minutes over, some past the length bound. */
const listPattern = fc.oneof(
  fc.constantFrom("pub-a", "priv-b", "*", "priv-*"),
  fc.string({ unit: fc.constantFrom("*", "?", "a", "-", "p"), minLength: 1, maxLength: 300 }),
  fc.nat({ max: 260 }).map((n) => `${"*".repeat(n)}Z`),
);
/** Start points a stateless peer may name (resolved only with from 0): before, within and past the records. */
const startPoint = fc.constantFrom("all", "new", "seq:1", "seq:60", "seq:99999", "time:2000-01-01T00:00:00Z", "time:2999-01-01T00:00:00Z");
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("hello" as const), claim: fc.constantFrom<Who | "full">("restricted", "attacker", "full"), proof: fc.constantFrom("own" as const, "garbage" as const), from: position, credit, lists: fc.option(fc.array(listPattern, { maxLength: 3 }), { nil: null }), start: fc.option(startPoint, { nil: null }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("fetch" as const), from: position, credit }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("credit" as const), bytes: credit }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("ack" as const), seq: position }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("hb" as const), seq: position }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("bye" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("raw" as const), parts: fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("forged" as const), type: fc.constantFrom("data", "welcome", "pass", "err", "zz"), version: fc.constantFrom(0, 1, 2, 3) }) },
);

interface Client {
  who: Who;
  keys: KeyPair;
  socket: zmq.Dealer;
  received: Buffer[][];
  /** Sum of every credit this client granted (hello, fetch, credit), each capped as the publisher caps it. */
  granted: number;
  resets: number;
  /** How many received messages the invariants have looked at, and the data bytes among them. */
  checked: number;
  dataBytes: number;
  /** This connection's challenge, which its own proofs answer. */
  nonce: Uint8Array;
}

describe("fuzz: a publisher under hostile authenticated peers", function () {
  this.timeout(fuzzTimeout(120_000));

  it("never leaks another list, never exceeds granted credit, never lets a peer act as another", async () => {
    const dir = tempDir();
    const keys = { publisher: generateKeyPair(), full: generateKeyPair(), restricted: generateKeyPair(), attacker: generateKeyPair() };
    const acl = new PeerAcl([
      { key: keys.full.publicKey, name: "full", lists: null },
      { key: keys.restricted.publicKey, name: "restricted", lists: ["pub-*"] },
      { key: keys.attacker.publicKey, name: "attacker", lists: null },
    ]);
    const outbox = Outbox.open(join(dir, "outbox.db"));
    for (let i = 0; i < RECORDS; i++) outbox.records.append(makeMessage(i % 2 ? "pub-a" : "priv-b", i, RECORD_SIZE));
    const publisher = new Publisher({ outbox, bind: "tcp://127.0.0.1:*", heartbeatMs: 200, security: { keys: keys.publisher, peers: acl } });
    const { router } = await publisher.start();
    const clients = (["restricted", "attacker"] as const).map((who): Client => {
      const socket = new zmq.Dealer({ linger: 0, curvePublicKey: keys[who].publicKey, curveSecretKey: keys[who].secretKey, curveServerKey: keys.publisher.publicKey });
      socket.connect(router);
      const client: Client = { who, keys: keys[who], socket, received: [], granted: 0, resets: 0, checked: 0, dataBytes: 0, nonce: new Uint8Array(0) };
      void (async () => {
        try {
          for await (const parts of socket) client.received.push(parts as Buffer[]);
        } catch {
          /* closed */
        }
      })();
      return client;
    });
    let barrier = 0;
    try {
      for (const client of clients) {
        await client.socket.send(encode({ type: "hello", peer: client.keys.publicKey, name: "x", from: 0, outbox: null, lists: null, credit: 0, proof: new Uint8Array(0) }));
        await waitFor(() => client.received.some((p) => unpack(p[0]!).t === "challenge"), { timeoutMs: 10_000, intervalMs: 1, what: "a challenge" });
        client.nonce = unpack(client.received.find((p) => unpack(p[0]!).t === "challenge")![0]!).nonce as Uint8Array;
      }
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(0, 1), action), { minLength: 1, maxLength: 12 }), async (steps) => {
          for (const [index, a] of steps) await send(clients[index]!, a, keys);
          // Barrier: a frame of a unique unknown type; its error reply means everything before it was handled.
          for (const client of clients) {
            const id = `barrier-${++barrier}`;
            const from = client.received.length;
            await client.socket.send(packr.pack({ v: PROTOCOL_VERSION, t: id }));
            const arrived = (): boolean => client.received.slice(from).some((p) => p.length === 1 && String(unpack(p[0]!).msg).includes(id));
            await waitFor(arrived, { timeoutMs: 10_000, intervalMs: 1, what: id });
          }
          checkInvariants(clients, outbox);
        }),
        fuzzParameters(100, 0.1),
      );
      // Still serving: a well-behaved peer gets every record, and its position is its own.
      const acked = new Map(outbox.peers.all().map((p) => [p.name, p.acked]));
      expect(acked.get("full"), "nobody moved the full peer's position").to.equal(0);
      const got: SinkRecord[] = [];
      const good = new Subscriber({ connect: router, state: join(dir, "good.db"), security: { keys: keys.full, serverKey: keys.publisher.publicKey }, handler: (r) => void got.push(r) });
      await good.start();
      try {
        await waitFor(() => good.position === RECORDS, { what: "the good peer to receive everything" });
        expect(got.map((r) => r.seq)).to.deep.equal(Array.from({ length: RECORDS }, (_, i) => i + 1));
      } finally {
        await good.close();
      }
      for (const p of outbox.peers.all()) expect(p.acked, p.name).to.be.at.most(RECORDS);
    } finally {
      for (const c of clients) c.socket.close();
      await publisher.close();
      outbox.close();
    }
  });
});

function unpack(buf: Buffer): Record<string, unknown> {
  try {
    return packr.unpack(buf) as Record<string, unknown>;
  } catch {
    return {};
  }
}

async function send(client: Client, a: Action, keys: Record<"publisher" | "full" | Who, KeyPair>): Promise<void> {
  const cap = (n: number): number => Math.min(n, MAX_CREDIT);
  switch (a.kind) {
    case "hello": {
      const claimed = keys[a.claim].publicKey;
      const proof = a.proof === "own" ? makeProof(client.keys, keys.publisher.publicKey, client.nonce) : new Uint8Array(32).fill(a.from % 256);
      client.granted += cap(a.credit);
      client.resets++;
      return client.socket.send(encode({ type: "hello", peer: claimed, name: "x", from: a.from, outbox: null, lists: a.lists, credit: a.credit, proof, ...(a.start === null ? {} : { start: a.start }) }));
    }
    case "fetch":
      client.granted += cap(a.credit);
      client.resets++;
      return client.socket.send(encode({ type: "fetch", from: a.from, credit: a.credit }));
    case "credit":
      client.granted += cap(a.bytes);
      return client.socket.send(encode({ type: "credit", bytes: a.bytes }));
    case "ack":
      return client.socket.send(encode({ type: "ack", seq: a.seq }));
    case "hb":
      return client.socket.send(encode({ type: "hb", seq: a.seq }));
    case "bye":
      return client.socket.send(encode({ type: "bye" }));
    case "raw":
      return client.socket.send(a.parts.map((p) => Buffer.from(p)));
    case "forged":
      return client.socket.send([packr.pack({ v: a.version, t: a.type, seq: 5, prev: 4, list: "priv-b", mid: "<x>", at: 1, kind: "message" }), Buffer.from("body")]);
  }
}

/** Checks what each client received since the last check (so a long run stays linear). */
function checkInvariants(clients: Client[], outbox: Outbox): void {
  for (const client of clients) {
    for (const parts of client.received.slice(client.checked)) {
      const h = unpack(parts[0]!);
      if (client.who === "restricted") for (const p of parts) expect(p.includes("priv-b"), "a private list name").to.equal(false);
      if (h.t !== "data") continue;
      client.dataBytes += parts[1]?.length ?? 0;
      if (client.who === "restricted") expect(String(h.list), "restricted peer got another list").to.match(/^pub-/);
    }
    client.checked = client.received.length;
    const bound = client.granted + (client.resets + 1) * RECORD_SIZE * 2;
    expect(client.dataBytes, `${client.who} received more data than it granted credit for`).to.be.at.most(bound);
  }
  for (const p of outbox.peers.all()) expect(p.acked, `${p.name} acked beyond the head`).to.be.at.most(outbox.records.head());
}
