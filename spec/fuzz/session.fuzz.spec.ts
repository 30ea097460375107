// Property tests of the publisher's per-peer state machine (Session): no
// sequence of peer frames and streamer steps, however hostile, gives it
// credit beyond the cap, an ack beyond the head or going backwards, or a
// stream position beyond the head.

import { expect } from "chai";
import fc from "fast-check";
import { ALL_LISTS } from "../../lib/security/list-match.js";
import { MAX_CREDIT, Session, type SessionTimers } from "../../lib/publisher/session.js";
import { fuzzParameters, fuzzTimeout } from "./runs.js";

const TIMERS: SessionTimers = { expireMs: 3000, resendMs: 5000, resendMaxMs: 60_000 };
const big = fc.oneof(fc.nat({ max: 100 }), fc.nat({ max: Number.MAX_SAFE_INTEGER }));

type Op =
  | { op: "fetch"; from: number; credit: number }
  | { op: "credit"; bytes: number }
  | { op: "ack"; seq: number }
  | { op: "publish"; n: number }
  | { op: "stream"; size: number }
  | { op: "full" }
  | { op: "tick"; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("fetch" as const), from: big, credit: big }),
  fc.record({ op: fc.constant("credit" as const), bytes: big }),
  fc.record({ op: fc.constant("ack" as const), seq: big }),
  fc.record({ op: fc.constant("publish" as const), n: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ op: fc.constant("stream" as const), size: fc.integer({ min: 1, max: 100_000 }) }),
  fc.record({ op: fc.constant("full" as const) }),
  fc.record({ op: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
);

describe("fuzz: publisher session state machine", function () {
  this.timeout(fuzzTimeout(30_000));

  it("keeps credit, acks and the stream position within bounds whatever the peer sends", () => {
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), big, big, fc.array(op, { maxLength: 60 }), (start, from, credit, ops) => {
        let head = start;
        let now = 1_000_000;
        const s = new Session({ routingId: Buffer.from("x"), peerId: "p", name: "p", lists: ALL_LISTS, mode: "pub", batches: false, from: Math.min(from, head), floor: 0, credit, head, now });
        let lastAcked = s.acked;
        let maxRecord = 0;
        /** The last record the streamer sent: what a full pipe gives back. */
        let lastRun: { prev: number; bytes: number } | null = null;
        for (const o of ops) {
          switch (o.op) {
            case "fetch":
              s.fetch(o.from, o.credit, head, now);
              break;
            case "credit":
              s.addCredit(o.bytes);
              break;
            case "ack": {
              const accepted = s.ack(o.seq, head, now);
              expect(accepted).to.equal(o.seq <= head);
              break;
            }
            case "publish":
              head += o.n;
              break;
            case "stream":
              // What the streamer does: send the next record only while the session wants data.
              if (s.wantsData(head, now)) {
                lastRun = { prev: s.lastSent, bytes: o.size };
                s.sent(s.cursor + 1, o.size);
                maxRecord = Math.max(maxRecord, o.size);
              } else if (s.reachedEnd(head)) s.caughtUp();
              break;
            case "full": {
              // The last run did not fit the peer's pipe: nothing is read for it until the wait has passed.
              if (lastRun === null) break;
              const until = s.backOff(lastRun.prev, lastRun.bytes, now);
              expect(until - now).to.be.within(20, 1000);
              expect(s.wantsData(head, now), "a blocked session is not read for").to.equal(false);
              expect(s.lastSent).to.be.at.most(lastRun.prev);
              lastRun = null;
              break;
            }
            case "tick":
              now += o.ms;
              s.maybeRewind(head, now, TIMERS);
              break;
          }
          expect(s.credit).to.be.at.most(MAX_CREDIT);
          expect(s.credit).to.be.at.least(-maxRecord);
          expect(s.acked).to.be.at.most(head);
          expect(s.acked).to.be.at.least(lastAcked);
          expect(s.cursor).to.be.at.most(head);
          expect(s.cursor, "a pub-mode stream ends at the head it started from").to.be.at.most(s.streamEnd);
          expect(s.lastSent).to.be.at.most(s.cursor);
          lastAcked = s.acked;
        }
      }),
      fuzzParameters(3000),
    );
  });
});
