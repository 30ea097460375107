// The subscriber's session machine, fed frames and the clock by hand: what
// it says, when, and what it makes of what the publisher says. No sockets.

import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { NotAuthorizedError, OutboxReplacedError, ProtocolError } from "../../lib/errors.js";
import type { SessionAction } from "../../lib/subscriber/actions.js";
import type { Source } from "../../lib/subscriber/link.js";
import type { SessionMachine } from "../../lib/subscriber/session-machine.js";
import { TICK_MS } from "../../lib/subscriber/session-machine.js";
import type { Frame } from "../../lib/wire/frames.js";
import { HEARTBEAT_MS, OUTBOX, data, delivered, newMachine, only, welcome } from "./session-fixtures.js";

const T0 = 1_000_000;

/** Tick every TICK_MS from `from` to `to` (inclusive), feeding `at(t)` first (from `source`); the actions per tick time. */
function run(m: SessionMachine, from: number, to: number, at?: (t: number) => Frame | null, source: Source = "router"): Array<[number, SessionAction[]]> {
  const seen: Array<[number, SessionAction[]]> = [];
  for (let t = from; t <= to; t += TICK_MS) {
    const frame = at?.(t) ?? null;
    const actions = frame ? m.frame(frame, source, t) : [];
    seen.push([t, [...actions, ...m.tick(t)]]);
  }
  return seen;
}

/** The times (from T0) at which an action of `type` came. */
function times(seen: Array<[number, SessionAction[]]>, type: SessionAction["type"]): number[] {
  return seen.filter(([, actions]) => actions.some((a) => a.type === type)).map(([t]) => t - T0);
}

const err = (code: string, detail: string | null = null): Frame => ({ type: "err", code, message: `refused: ${code}`, detail });

describe("SessionMachine", () => {
  describe("hello", () => {
    it("says hello when the connection comes up, and without a session again after 100 ms, doubling up to two heartbeats", () => {
      const { m, counters } = newMachine();
      m.started(T0);
      const hello = only(m.connection(true, T0), "hello");
      expect(hello).to.deep.equal([{ type: "hello", from: 0, outbox: null, credit: 8000, challenge: null }]);
      const seen = run(m, T0, T0 + 10_000);
      expect(times(seen, "hello")).to.deep.equal([100, 300, 700, 1500, 3100, 5100, 7100, 9100]);
      expect(counters.hellos).to.equal(9);
      expect(m.view.helloDelay).to.equal(2 * HEARTBEAT_MS);
    });

    it("starts the backoff over once a session opened and ended", () => {
      const { m } = newMachine();
      m.started(T0);
      run(m, T0, T0 + 5000);
      m.frame(welcome(), "router", T0 + 5000);
      expect(m.view.helloDelay).to.equal(100);
      const lost = m.connection(false, T0 + 5100);
      expect(lost).to.deep.equal([{ type: "lost", why: "connection lost", position: 0 }]);
      expect(times(run(m, T0 + 5150, T0 + 6000), "hello")).to.deep.equal([5150, 5350, 5750]);
    });

    it("answers a challenge with a hello carrying it, only without a session, and only with keys", () => {
      const { m } = newMachine();
      const nonce = new Uint8Array(16).fill(7);
      expect(only(m.frame({ type: "challenge", nonce }, "router", T0), "hello")).to.deep.equal([
        { type: "hello", from: 0, outbox: null, credit: 8000, challenge: nonce },
      ]);
      m.frame(welcome(), "router", T0);
      expect(m.frame({ type: "challenge", nonce }, "router", T0)).to.deep.equal([]);

      const insecure = newMachine({ keyed: false }).m;
      const actions = insecure.frame({ type: "challenge", nonce }, "router", T0);
      expect(only(actions, "hello")).to.deep.equal([]);
      expect(only(actions, "log").map((a) => [a.level, a.msg])).to.deep.equal([
        ["warn", "the publisher asks for a key proof, but we run without keys (--insecure)"],
      ]);
    });
  });

  describe("welcome", () => {
    it("opens a session: a new peer adopts the outbox, PUB is taken, the link follows", () => {
      const { m } = newMachine();
      const w = welcome({ head: 5 });
      const actions = m.frame(w, "router", T0);
      expect(actions.map((a) => a.type)).to.deep.equal(["adoptOutbox", "resumePub", "session"]);
      expect(only(actions, "adoptOutbox")[0]!.outbox).to.equal(OUTBOX);
      expect(only(actions, "session")[0]!.welcome).to.equal(w);
      expect(m.view).to.include({ connected: true, outbox: OUTBOX, head: 5, committed: 0 });
    });

    it("stops on a malformed outbox id, another outbox than the one followed, or a head behind our position", () => {
      const cases: Array<[Partial<Parameters<typeof newMachine>[0]>, Parameters<typeof welcome>[0], new (...args: never[]) => Error]> = [
        [{}, { outbox: "../../x" }, ProtocolError],
        [{ outbox: OUTBOX, position: 10 }, { outbox: randomUUID(), head: 20 }, OutboxReplacedError],
        [{ outbox: OUTBOX, position: 50 }, { head: 40 }, OutboxReplacedError],
      ];
      for (const [options, fields, type] of cases) {
        const { m } = newMachine(options);
        const actions = m.frame(welcome(fields), "router", T0);
        expect(actions.map((a) => a.type), JSON.stringify(fields)).to.deep.equal(["fail"]);
        expect(only(actions, "fail")[0]!.error).to.be.instanceOf(type);
        expect(m.connected).to.equal(false);
      }
    });

    it("says so when records after our position were pruned", () => {
      const { m } = newMachine({ outbox: OUTBOX, position: 10 });
      const actions = m.frame(welcome({ first: 20, head: 30 }), "router", T0);
      expect(only(actions, "log").map((a) => [a.level, a.msg, a.fields])).to.deep.equal([
        ["error", "records after our position were pruned before we stored them", { position: 10, first: 20 }],
      ]);
      expect(m.connected).to.equal(true);
    });
  });

  describe("liveness", () => {
    it("sends a heartbeat each interval and loses a publisher silent on ROUTER for three heartbeats and 500 ms", () => {
      const { m } = newMachine({ outbox: OUTBOX, position: 7 });
      m.frame(welcome({ head: 7 }), "router", T0);
      const pubOnly = run(m, T0, T0 + 5000);
      expect(times(pubOnly, "heartbeat")).to.deep.equal([0, 1000, 2000, 3000]);
      expect(only(pubOnly.flatMap(([, a]) => a), "heartbeat")[0]).to.deep.equal({ type: "heartbeat", seq: 7 });
      expect(times(pubOnly, "lost")).to.deep.equal([3550]);
      expect(only(pubOnly.flatMap(([, a]) => a), "lost")[0]!.why).to.equal("the publisher went silent");
      expect(times(pubOnly, "hello"), "a hello at the next tick").to.deep.equal([3600, 3800, 4200, 5000]);
    });

    it("counts any ROUTER frame as a sign of life, PUB data not", () => {
      const { m } = newMachine();
      m.frame(welcome(), "router", T0);
      expect(times(run(m, T0, T0 + 1000, (t) => (t === T0 + 1000 ? { type: "hb", seq: 0 } : null)), "lost")).to.deep.equal([]);
      const pubEvery500 = (t: number): Frame | null => ((t - T0) % 500 === 0 ? data((t - T0) / 500) : null);
      const seen = run(m, T0 + 1050, T0 + 6000, pubEvery500, "pub");
      expect(times(seen, "lost")).to.deep.equal([4550]);
    });

    it("ends the session on the publisher's bye", () => {
      const { m } = newMachine();
      m.frame(welcome(), "router", T0);
      expect(m.frame({ type: "bye" }, "router", T0)).to.deep.equal([{ type: "lost", why: "the publisher is shutting down", position: 0 }]);
    });
  });

  describe("stall repair", () => {
    /** Keeps the session alive with a publisher heartbeat (head 10) each second. */
    const alive = (t: number): Frame | null => ((t - T0) % 1000 === 500 ? { type: "hb", seq: 10 } : null);

    it("fetches from its position when the stream stalls below the head, backing off up to two heartbeats", () => {
      const { m, counters } = newMachine();
      m.frame(welcome({ head: 10 }), "router", T0);
      const seen = run(m, T0, T0 + 8000, alive);
      expect(times(seen, "fetch")).to.deep.equal([200, 700, 1700, 3700, 5700, 7700]);
      expect(only(seen.flatMap(([, a]) => a), "fetch")[0]).to.deep.equal({ type: "fetch", from: 0, head: 10, credit: 8000 });
      expect(counters.fetches).to.equal(6);
      expect(m.view.fetchDelay).to.equal(2 * HEARTBEAT_MS);
    });

    it("starts the backoff over when the chain moves, and waits while ROUTER data flows", () => {
      const { m } = newMachine();
      m.frame(welcome({ head: 10 }), "router", T0);
      run(m, T0, T0 + 2000, alive);
      expect(delivered(m.frame(data(1), "router", T0 + 2020))).to.deep.equal([1]);
      expect(m.view.fetchDelay).to.equal(250);
      const seen = run(m, T0 + 2050, T0 + 3000, (t) => (t === T0 + 2200 ? data(5, 4) : null)); // held: no progress, but ROUTER data
      expect(times(seen, "fetch")).to.deep.equal([2300, 2800]);
      expect(only(seen.flatMap(([, a]) => a), "fetch")[0]!.from).to.equal(1);
    });

    it("does not fetch at the head, nor while it holds over half its credit window (the slow part is us)", () => {
      const { m } = newMachine();
      m.frame(welcome({ head: 60 }), "router", T0);
      for (let seq = 1; seq <= 50; seq++) m.frame(data(seq), "router", T0); // 5,000 bytes released, not stored
      expect(times(run(m, T0, T0 + 1000), "fetch")).to.deep.equal([]);
      m.stored(50);
      expect(times(run(m, T0 + 1050, T0 + 1200), "fetch")).to.deep.equal([1050]);

      const atHead = newMachine().m;
      atHead.frame(welcome({ head: 1 }), "router", T0);
      atHead.frame(data(1), "router", T0);
      expect(times(run(atHead, T0, T0 + 2000), "fetch")).to.deep.equal([]);
    });
  });

  describe("PUB pause", () => {
    it("pauses PUB once its records in memory pass four credit windows, and takes it again once half are stored", () => {
      const { m, counters } = newMachine({ creditBytes: 1000 });
      m.frame(welcome(), "router", T0);
      const pauses: SessionAction[] = [];
      for (let seq = 1; seq <= 42; seq++) pauses.push(...only(m.frame(data(seq), "pub", T0), "pausePub"));
      expect(pauses).to.deep.equal([
        { type: "pausePub", first: true, seq: 41, position: 41, bytesHeld: 4100 },
        { type: "pausePub", first: false, seq: 42, position: 42, bytesHeld: 4200 },
      ]);
      expect(counters.pubPauses).to.equal(1);
      expect(only(m.stored(21), "resumePub")).to.deep.equal([]);
      expect(only(m.stored(1), "resumePub")).to.deep.equal([{ type: "resumePub", caughtUp: true, position: 42 }]);
      expect(m.view.pubPaused).to.equal(false);
    });

    it("takes PUB again in a new session", () => {
      const { m } = newMachine({ creditBytes: 1000 });
      m.frame(welcome(), "router", T0);
      for (let seq = 1; seq <= 41; seq++) m.frame(data(seq), "pub", T0);
      expect(m.view.pubPaused).to.equal(true);
      m.frame({ type: "bye" }, "router", T0);
      expect(only(m.frame(welcome({ head: 41 }), "router", T0), "resumePub")).to.deep.equal([{ type: "resumePub", caughtUp: false, position: 41 }]);
      expect(m.view.pubPaused).to.equal(false);
    });
  });

  describe("records, credit and acks", () => {
    it("takes records only within a session, returns credit as ROUTER records are stored, acks what is committed", () => {
      const { m, counters } = newMachine({ creditBytes: 1600 });
      expect(m.frame(data(1), "router", T0)).to.deep.equal([]);
      expect(m.committedUpTo(0)).to.deep.equal([]);
      expect(counters.fromRouter).to.equal(0);
      m.frame(welcome({ head: 20 }), "router", T0);
      const actions = [...m.frame(data(2, 1), "router", T0), ...m.frame(data(1, 0), "router", T0), ...m.frame(data(1, 0), "pub", T0)];
      expect(delivered(actions)).to.deep.equal([1, 2]);
      expect([counters.fromRouter, counters.fromPub, counters.duplicates]).to.deep.equal([2, 1, 1]);
      expect(only(m.stored(1), "credit"), "100 bytes: under an eighth of the window (200)").to.deep.equal([]);
      expect(only(m.stored(1), "credit").map((a) => a.grant.bytes)).to.deep.equal([200]);
      expect(m.committedUpTo(2)).to.deep.equal([{ type: "ack", seq: 2 }]);
      expect(m.position).to.equal(2);
    });

    it("moves past a pass like a record", () => {
      const { m } = newMachine();
      m.frame(welcome({ head: 9 }), "router", T0);
      expect(delivered(m.frame({ type: "pass", seq: 9, prev: 0 }, "router", T0))).to.deep.equal([9]);
      expect(m.view.received).to.equal(9);
    });
  });

  describe("errors from the publisher", () => {
    it("acts by the wire's table: hello again, wait, stop, or log", () => {
      const { m } = newMachine({ outbox: OUTBOX, position: 3 });
      m.frame(welcome({ head: 3 }), "router", T0);
      expect(m.frame(err("NO_SESSION"), "router", T0)).to.deep.equal([{ type: "lost", why: "the publisher does not know this session", position: 3 }]);
      expect(only(m.tick(T0 + 1), "hello"), "at the next tick").to.have.length(1);
      const busy = m.frame(err("BUSY"), "router", T0);
      expect(busy).to.deep.equal([
        { type: "log", level: "warn", msg: "the publisher asks us to wait", fields: { code: "BUSY", reason: "refused: BUSY", retryInMs: 200 } },
      ]);
      expect(only(m.frame(err("NO_SUCH_CODE"), "router", T0), "log")[0]!.msg).to.equal("the publisher reported an error");
      expect(only(m.frame(err("NOT_AUTHORIZED"), "router", T0), "fail")[0]!.error).to.be.instanceOf(NotAuthorizedError);
      const replaced = only(m.frame(err("OUTBOX_MISMATCH", randomUUID()), "router", T0), "fail")[0]!.error;
      expect(replaced).to.be.instanceOf(OutboxReplacedError);
    });

    it("follows a replaced outbox from the start when --accept-outbox names it and nothing is in flight", () => {
      const next = randomUUID();
      const busy = newMachine({ outbox: OUTBOX, position: 30, acceptOutbox: next }).m;
      expect(only(busy.frame(err("OUTBOX_MISMATCH", next), "router", T0, false), "fail")).to.have.length(1);

      const { m } = newMachine({ outbox: OUTBOX, position: 30, acceptOutbox: next });
      const actions = m.frame(err("OUTBOX_MISMATCH", next), "router", T0, true);
      expect(actions.map((a) => a.type)).to.deep.equal(["log", "adoptOutbox", "hello"]);
      expect(only(actions, "hello")[0]).to.include({ from: 0, outbox: next });
      expect(m.view).to.include({ outbox: next, committed: 0, received: 0 });
    });
  });

  describe("start point (a peer with no state)", () => {
    it("says its start point in every hello until a welcome resolves it", () => {
      const { m } = newMachine({ start: "new" });
      expect(only(m.connection(true, T0), "hello")[0]).to.include({ from: 0, start: "new" });
      const nonce = new Uint8Array(16).fill(7);
      expect(only(m.frame({ type: "challenge", nonce }, "router", T0), "hello")[0]).to.include({ start: "new" });
      m.frame(welcome({ head: 5, from: 5 }), "router", T0);
      m.connection(false, T0 + 10);
      expect(only(m.connection(true, T0 + 20), "hello")[0]).to.deep.include({ from: 5, outbox: OUTBOX }).and.not.have.property("start");
    });

    it("jumps to the welcome's from before any record, adopting the outbox in the same step, and chains records after it", () => {
      const { m } = newMachine({ start: "seq:4" });
      const actions = m.frame(welcome({ head: 6, first: 1, from: 3 }), "router", T0);
      expect(actions.map((a) => a.type).filter((t) => t === "adoptOutbox" || t === "startAt" || t === "session")).to.deep.equal([
        "startAt", "session",
      ]);
      expect(only(actions, "startAt")).to.deep.equal([{ type: "startAt", outbox: OUTBOX, start: "seq:4", position: 3 }]);
      expect(m.view).to.include({ committed: 3, received: 3, connected: true, outbox: OUTBOX });
      expect(delivered(m.frame(data(4), "router", T0 + 1))).to.deep.equal([4]);
      expect(delivered(m.frame(data(2), "router", T0 + 2))).to.deep.equal([]);
      expect(only(m.tick(T0 + 1000), "heartbeat")[0]).to.include({ seq: 3 });
    });

    it("records a start that resolved to 0 too (all, or an outbox that ignored it), so it is never asked again", () => {
      const { m } = newMachine({ start: "all" });
      expect(only(m.frame(welcome({ head: 2, from: 0 }), "router", T0), "startAt")).to.deep.equal([{ type: "startAt", outbox: OUTBOX, start: "all", position: 0 }]);
      expect(m.view.committed).to.equal(0);
    });

    it("stops on a welcome that starts it past the publisher's head", () => {
      const { m } = newMachine({ start: "new" });
      const actions = m.frame(welcome({ head: 2, from: 9 }), "router", T0);
      expect(only(actions, "fail")[0]?.error).to.be.instanceOf(ProtocolError);
      expect(only(actions, "startAt")).to.deep.equal([]);
      expect(only(actions, "adoptOutbox"), "nothing recorded: the next run is still a peer with no state").to.deep.equal([]);
      expect(m.view).to.include({ connected: false, committed: 0, outbox: null });
    });

    it("without a start point (a state with a position), a welcome's from moves nothing", () => {
      const { m } = newMachine({ position: 7, outbox: OUTBOX });
      const actions = m.frame(welcome({ head: 9, from: 8 }), "router", T0);
      expect(only(actions, "startAt")).to.deep.equal([]);
      expect(m.view.committed).to.equal(7);
    });
  });
});
