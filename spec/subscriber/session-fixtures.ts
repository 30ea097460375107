// Frames and a fresh session machine for the machine's unit and fuzz tests:
// no sockets, no clock, no state file. No mocha here.

import type { SessionAction } from "../../lib/subscriber/actions.js";
import { newCounters, type SubscriberCounters } from "../../lib/subscriber/counters.js";
import { SessionMachine, type SessionMachineOptions } from "../../lib/subscriber/session-machine.js";
import type { DataFrame, WelcomeFrame } from "../../lib/wire/frames.js";
import { OUTBOX } from "../sinks/records.js";

export { OUTBOX };

export const HEARTBEAT_MS = 1000;

export function newMachine(options: Partial<SessionMachineOptions> = {}): { m: SessionMachine; counters: SubscriberCounters } {
  const counters = newCounters();
  const m = new SessionMachine({
    position: 0,
    outbox: null,
    heartbeatMs: HEARTBEAT_MS,
    creditBytes: 8000,
    keyed: true,
    counters,
    ...options,
  });
  return { m, counters };
}

export function welcome(fields: Partial<WelcomeFrame> = {}): WelcomeFrame {
  return { type: "welcome", outbox: OUTBOX, head: 0, first: 0, from: 0, mode: "pub", pub: "tcp://127.0.0.1:5556", heartbeat: HEARTBEAT_MS, ...fields };
}

/** Record `seq`, chained after `prev`, with a body of `size` bytes. */
export function data(seq: number, prev = seq - 1, size = 100): DataFrame {
  return { type: "data", seq, prev, kind: "message", list: "dev", messageId: `<${seq}@test>`, receivedAt: 0, body: Buffer.alloc(size, seq % 256) };
}

/** The actions of one type, typed. */
export function only<T extends SessionAction["type"]>(actions: readonly SessionAction[], type: T): Array<Extract<SessionAction, { type: T }>> {
  return actions.filter((a): a is Extract<SessionAction, { type: T }> => a.type === type);
}

/** Seqs handed to the deliverer, in order (records and passes). */
export function delivered(actions: readonly SessionAction[]): number[] {
  return only(actions, "deliver").flatMap((a) => a.entries.map((e) => (e.type === "record" ? e.record.seq : e.seq)));
}
