// Property tests of the wire codec: whatever bytes arrive, decode returns a
// frame or throws a ProtocolError; every frame survives encode → decode.

import { expect } from "chai";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { ProtocolError } from "../../lib/errors.js";
import { decode, encode } from "../../lib/wire/codec.js";
import type { Frame } from "../../lib/wire/frames.js";
import { fuzzParameters, fuzzTimeout } from "./runs.js";

const packr = new Packr({ useRecords: false });
const seq = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const text = fc.string({ minLength: 1, maxLength: 60 });

const data = fc
  .record({
    prev: fc.nat({ max: 1e9 }), gap: fc.integer({ min: 1, max: 1000 }), kind: fc.constantFrom("message" as const, "event" as const),
    list: text, messageId: text, receivedAt: seq, body: fc.uint8Array({ maxLength: 200 }),
  })
  .map((r) => ({ type: "data" as const, seq: r.prev + r.gap, prev: r.prev, kind: r.kind, list: r.list, messageId: r.messageId, receivedAt: r.receivedAt, body: Buffer.from(r.body) }));

/** Start points in every accepted form (start-point.ts). */
const startPoint = fc.oneof(
  fc.constantFrom("all", "new"),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).map((n) => `seq:${n}`),
  fc.date({ min: new Date(0), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }).map((d) => `time:${d.toISOString()}`),
);

const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    type: fc.constant("hello" as const), peer: text, name: fc.string({ maxLength: 20 }), from: seq,
    outbox: fc.option(text, { nil: null }), lists: fc.option(fc.array(text, { maxLength: 5 }), { nil: null }),
    credit: seq, proof: fc.uint8Array({ maxLength: 32 }),
  }).chain((hello) => fc.constantFrom(hello, { ...hello, batches: true as const })).chain((hello) => fc.oneof(fc.constant(hello), startPoint.map((start) => ({ ...hello, start })))),
  fc.record({
    type: fc.constant("welcome" as const), outbox: text, head: seq, first: seq, from: seq,
    mode: fc.constantFrom("pub" as const, "router" as const), pub: fc.option(text, { nil: null }), heartbeat: seq,
  }),
  fc.record({ type: fc.constant("fetch" as const), from: seq, credit: seq }),
  fc.record({ type: fc.constant("credit" as const), bytes: seq }),
  fc.record({ type: fc.constant("ack" as const), seq }),
  fc.record({ type: fc.constant("hb" as const), seq }),
  fc.record({ type: fc.constant("err" as const), code: text, message: fc.string({ maxLength: 40 }), detail: fc.option(text, { nil: null }) }),
  fc.tuple(seq, seq).filter(([a, b]) => a !== b).map(([a, b]) => ({ type: "pass" as const, prev: Math.min(a, b), seq: Math.max(a, b) })),
  fc.record({ type: fc.constant("bye" as const) }),
  ...verifyFrames(),
  data,
  fc.array(data, { minLength: 1, maxLength: 8 }).map((records) => ({ type: "batch" as const, records })),
);

function decodesOrRejects(parts: Buffer[]): void {
  try {
    decode(parts);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
  }
}

/** The verify frames (wire/verify-frames.ts), within their bounds. */
function verifyFrames(): Array<fc.Arbitrary<Frame>> {
  const u32 = fc.nat({ max: 0xffff_ffff });
  const range = fc.tuple(text, seq, seq).map(([l, a, b]): [string, number, number] => [l, Math.min(a, b), Math.max(a, b)]);
  return [
    fc.record({ type: fc.constant("vlists" as const), after: fc.string({ maxLength: 20 }) }),
    fc.record({ type: fc.constant("vnames" as const), lists: fc.array(text, { maxLength: 5 }), more: fc.boolean(), acked: seq, head: seq, since: seq }),
    fc.record({ type: fc.constant("vsum" as const), q: fc.array(range, { minLength: 1, maxLength: 5 }) }),
    fc.record({ type: fc.constant("vsums" as const), sums: fc.array(fc.tuple(seq, u32, u32), { maxLength: 5 }), split: fc.boolean() }),
    range.map(([list, from, to]) => ({ type: "ventry" as const, list, from, to })),
    fc.record({
      type: fc.constant("ventries" as const), list: text, more: fc.boolean(),
      entries: fc.array(fc.tuple(seq, fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }), u32, fc.option(text, { nil: null })), { maxLength: 5 }),
    }),
    fc.record({ type: fc.constant("vget" as const), seqs: fc.array(seq, { minLength: 1, maxLength: 64 }) }),
    fc.record({ type: fc.constant("vgot" as const), missing: fc.array(seq, { maxLength: 64 }) }),
  ];
}

describe("fuzz: wire codec", function () {
  this.timeout(fuzzTimeout(30_000));

  it("round-trips every frame", () => {
    fc.assert(
      fc.property(frame, (f) => {
        const back = decode(encode(f));
        expect(back).to.deep.equal(f.type === "hello" ? { ...f, proof: Buffer.from(f.proof) } : f);
      }),
      fuzzParameters(2000),
    );
  });

  it("returns a frame or throws ProtocolError for arbitrary parts", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 0, maxLength: 3 }), (parts) => {
        decodesOrRejects(parts.map((p) => Buffer.from(p)));
      }),
      fuzzParameters(3000),
    );
  });

  it("returns a frame or throws ProtocolError for msgpack maps with arbitrary fields", () => {
    const value = fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 10 }), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 8 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }));
    const header = fc.record(
      { v: fc.oneof(fc.constant(1), value), t: fc.oneof(fc.constantFrom("hello", "fetch", "credit", "ack", "hb", "data", "batch", "pass", "err", "bye", "welcome", "vlists", "vnames", "vsum", "vsums", "ventry", "ventries", "vget", "vgot"), value) },
      { requiredKeys: [] },
    );
    const extra = fc.dictionary(fc.constantFrom("peer", "from", "credit", "seq", "prev", "bytes", "list", "mid", "at", "kind", "lists", "proof", "outbox", "code", "msg", "recs", "batches", "start", "after", "more", "acked", "head", "q", "sums", "to", "entries", "seqs", "missing", "split", "since", "verify"), value);
    fc.assert(
      fc.property(header, extra, fc.option(fc.uint8Array({ maxLength: 20 })), (h, e, body) => {
        const parts = [packr.pack({ ...e, ...h })];
        if (body !== null) parts.push(Buffer.from(body));
        decodesOrRejects(parts);
      }),
      fuzzParameters(3000),
    );
  });

  it("returns a frame or throws ProtocolError for truncated or bit-flipped valid frames", () => {
    fc.assert(
      fc.property(frame, fc.nat(), fc.nat(), fc.boolean(), (f, at, bit, truncate) => {
        const parts = encode(f);
        const head = Buffer.from(parts[0]!);
        if (truncate) parts[0] = head.subarray(0, at % (head.length + 1));
        else {
          head[at % head.length]! ^= 1 << (bit % 8);
          parts[0] = head;
        }
        decodesOrRejects(parts);
      }),
      fuzzParameters(3000),
    );
  });
});
