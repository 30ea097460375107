// Property tests of the subscriber's session machine (with its intake): no
// sequence of publisher frames, connection changes, deliverer reports and
// clock steps, however hostile or badly timed, makes it speak out of turn
// (a fetch, heartbeat, credit or ack without a session), say hello faster
// than its backoff allows or stop saying it, fetch without backing off, hand
// the deliverer anything but one ordered chain of the outbox it follows, or
// move its position back (but to start a new outbox it was told to accept).

import { expect } from "chai";
import fc from "fast-check";
import type { SessionAction } from "../../lib/subscriber/actions.js";
import type { Grant } from "../../lib/subscriber/credit.js";
import type { Source } from "../../lib/subscriber/link.js";
import { TICK_MS } from "../../lib/subscriber/session-machine.js";
import type { DataFrame, Frame } from "../../lib/wire/frames.js";
import { HEARTBEAT_MS, OUTBOX, data, newMachine, welcome } from "../subscriber/session-fixtures.js";
import { fuzzParameters, fuzzTimeout } from "./runs.js";

const ACCEPT = "0b9e7c1a-2f4d-4e6b-8a3c-5d7e9f1a2b3c";
const OTHER = "7d3f5a1e-9c2b-4a6d-8e0f-1b3c5d7e9f2a";
const CODES = ["NO_SESSION", "BUSY", "BAD_FRAME", "TOO_LARGE", "OUTBOX_MISMATCH", "NOT_AUTHORIZED", "POSITION_AHEAD", "WHAT"];
const HEARTBEATS = [0, 200, 1000, 5000];

interface Rec {
  /** seq = the machine's chain end + ahead + 1; prev = seq - 1 - gap. */
  ahead: number;
  gap: number;
  size: number;
}
type Op =
  | { op: "tick"; ms: number }
  | { op: "connection"; up: boolean }
  | { op: "welcome"; outbox: "followed" | "other" | "malformed" | "accepted"; head: number; first: number; heartbeat: number }
  | { op: "records"; source: Source; recs: Rec[] }
  | { op: "pass"; rec: Rec }
  | { op: "hb"; ahead: number }
  | { op: "challenge" }
  | { op: "err"; code: string; detail: "accepted" | "other" | null }
  | { op: "bye" }
  | { op: "stored"; n: number }
  | { op: "commit" }
  | { op: "unsent" };

const rec: fc.Arbitrary<Rec> = fc.record({
  ahead: fc.oneof(fc.constant(0), fc.nat({ max: 40 }), fc.integer({ min: -20, max: -1 })),
  gap: fc.oneof(fc.constant(0), fc.nat({ max: 5 })),
  size: fc.oneof(fc.nat({ max: 200 }), fc.nat({ max: 5000 })),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("tick" as const), ms: fc.oneof(fc.constant(TICK_MS), fc.nat({ max: 12_000 })) }) },
  fc.record({ op: fc.constant("connection" as const), up: fc.boolean() }),
  fc.record({
    op: fc.constant("welcome" as const),
    outbox: fc.constantFrom("followed" as const, "other" as const, "malformed" as const, "accepted" as const),
    head: fc.integer({ min: -5, max: 60 }),
    first: fc.nat({ max: 80 }),
    heartbeat: fc.constantFrom(...HEARTBEATS),
  }),
  { weight: 5, arbitrary: fc.record({ op: fc.constant("records" as const), source: fc.constantFrom("pub" as const, "router" as const), recs: fc.array(rec, { minLength: 1, maxLength: 8 }) }) },
  fc.record({ op: fc.constant("pass" as const), rec }),
  fc.record({ op: fc.constant("hb" as const), ahead: fc.integer({ min: -5, max: 60 }) }),
  fc.record({ op: fc.constant("challenge" as const) }),
  fc.record({ op: fc.constant("err" as const), code: fc.constantFrom(...CODES), detail: fc.constantFrom("accepted" as const, "other" as const, null) }),
  fc.record({ op: fc.constant("bye" as const) }),
  { weight: 3, arbitrary: fc.record({ op: fc.constant("stored" as const), n: fc.nat({ max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("commit" as const) }) },
  fc.record({ op: fc.constant("unsent" as const) }),
);

describe("fuzz: subscriber session machine", function () {
  this.timeout(fuzzTimeout(60_000));

  it("speaks only in turn, backs off, and hands over one ordered chain whatever the publisher and the clock do", () => {
    fc.assert(
      fc.property(fc.nat({ max: 50 }), fc.boolean(), fc.array(op, { maxLength: 120 }), (start, keyed, ops) => {
        const { m, counters } = newMachine({ position: start, outbox: start > 0 ? OUTBOX : null, acceptOutbox: ACCEPT, keyed, creditBytes: 4000 });
        let now = 1_000_000;
        m.started(now);
        const deliverer = { handed: [] as number[], stored: [] as number[] };
        const grants: Grant[] = [];
        let lastHello = now;
        let lastFetch = -Infinity;
        let lastDelivered = start;
        let hellos = 0;
        let fetches = 0;
        let pauses = 0;
        let paused = false;

        for (const o of ops) {
          const before = { ...m.view };
          const idle = deliverer.handed.length + deliverer.stored.length === 0;
          const actions = step(o);
          const after = m.view;
          const accepted = actions.some((a) => a.type === "adoptOutbox") && actions.some((a) => a.type === "hello");
          const lostAt = actions.findIndex((a) => a.type === "lost");

          actions.forEach((a, i) => {
            if (a.type === "fetch" || a.type === "heartbeat" || a.type === "credit" || a.type === "ack") {
              expect(after.connected, `${a.type} without a session`).to.equal(true);
              expect(lostAt === -1 || i < lostAt, `${a.type} after the session was lost`).to.equal(true);
            }
          });
          const said = actions.filter((a) => a.type === "hello");
          expect(said.length, "one hello at a time").to.be.at.most(1);
          if (said.length > 0) {
            expect(after.connected && !accepted, "a hello within a session").to.equal(false);
            if (o.op === "tick") expect(now - lastHello, "a hello sooner than the backoff").to.be.at.least(100);
            hellos++;
            lastHello = now;
          } else if (o.op === "tick" && !before.connected && !after.connected) {
            expect(now - lastHello, "no hello for longer than the backoff's cap").to.be.below(2 * HEARTBEAT_MS);
          }
          if (o.op === "err" && o.code === "NO_SESSION") lastHello = -Infinity; // hello at the next tick, whatever the backoff
          expect(after.helloDelay).to.be.within(100, 2 * HEARTBEAT_MS);

          for (const a of actions) {
            if (a.type === "fetch") {
              expect(now - lastFetch, "a fetch sooner than the backoff").to.be.at.least(250);
              expect(a.from).to.equal(after.received);
              expect(a.from).to.be.below(a.head);
              lastFetch = now;
              fetches++;
            }
            if (a.type === "deliver") {
              for (const e of a.entries) {
                const seq = e.type === "record" ? e.record.seq : e.seq;
                expect(seq, "the chain goes forward").to.be.above(lastDelivered);
                if (e.type === "record") expect(e.record.outbox).to.equal(after.outbox);
                lastDelivered = seq;
                deliverer.handed.push(seq);
              }
            }
            if (a.type === "credit") grants.push(a.grant);
            if (a.type === "ack") expect(a.seq).to.equal(after.committed);
            if (a.type === "pausePub") {
              if (a.first) pauses++;
              expect(a.first).to.equal(!paused);
              paused = true;
            }
            if (a.type === "resumePub") paused = false;
          }
          expect(after.pubPaused).to.equal(paused);
          expect([counters.hellos, counters.fetches, counters.pubPauses]).to.deep.equal([hellos, fetches, pauses]);
          if (accepted) {
            expect(idle, "a new outbox while records were in flight").to.equal(true);
            expect([after.committed, after.received, after.outbox]).to.deep.equal([0, 0, ACCEPT]);
            lastDelivered = 0;
          } else {
            expect(after.committed, "the position went back").to.be.at.least(before.committed);
            expect(after.received, "the chain went back").to.be.at.least(before.received);
          }
          expect(after.received).to.be.at.least(after.committed);
          expect(after.fetchDelay).to.be.within(250, 2 * Math.max(...HEARTBEATS));
          if (actions.some((a) => a.type === "fail")) return; // the subscriber stops here
        }

        function step(o: Op): SessionAction[] {
          const base = m.view.received;
          const seqOf = (r: Rec): [number, number] => {
            const seq = Math.max(1, base + r.ahead + 1);
            return [seq, Math.max(0, seq - 1 - r.gap)];
          };
          const frame = (f: Frame, source: Source = "router"): SessionAction[] =>
            m.frame(f, source, now, deliverer.handed.length + deliverer.stored.length === 0);
          switch (o.op) {
            case "tick":
              now += o.ms;
              return m.tick(now);
            case "connection":
              return m.connection(o.up, now);
            case "welcome": {
              const outbox = { followed: m.view.outbox ?? OUTBOX, other: OTHER, malformed: "../x", accepted: ACCEPT }[o.outbox];
              return frame(welcome({ outbox, head: Math.max(0, base + o.head), first: o.first, heartbeat: o.heartbeat }));
            }
            case "records": {
              const records: DataFrame[] = o.recs.map((r) => {
                const [seq, prev] = seqOf(r);
                return data(seq, prev, r.size);
              });
              return frame(records.length === 1 ? records[0]! : { type: "batch", records }, o.source);
            }
            case "pass": {
              const [seq, prev] = seqOf(o.rec);
              return frame({ type: "pass", seq, prev });
            }
            case "hb":
              return frame({ type: "hb", seq: Math.max(0, base + o.ahead) });
            case "challenge":
              return frame({ type: "challenge", nonce: new Uint8Array(16) });
            case "err": {
              const detail = o.detail === "accepted" ? ACCEPT : o.detail === "other" ? OTHER : null;
              return frame({ type: "err", code: o.code, message: "refused", detail });
            }
            case "bye":
              return frame({ type: "bye" });
            case "stored": {
              const n = Math.min(o.n, deliverer.handed.length);
              deliverer.stored.push(...deliverer.handed.splice(0, n));
              return m.stored(n);
            }
            case "commit": {
              const last = deliverer.stored.at(-1);
              deliverer.stored = [];
              return last === undefined ? [] : m.committedUpTo(last);
            }
            case "unsent": {
              const grant = grants.shift();
              if (grant !== undefined) m.creditUnsent(grant);
              return [];
            }
          }
        }
      }),
      fuzzParameters(2000),
    );
  });
});
