// Sink records for the sink tests and the crash-test child process: the
// same (list, seq) always gives the same bytes, so a parent can recompute
// what a killed child was storing. No mocha here: the child imports it.

import type { SinkRecord } from "../../lib/sinks/sink.js";
import { makeMessage } from "../helpers/messages.js";

/** The outbox the test records come from. */
export const OUTBOX = "5f0c2a9e-1b7d-4c3e-9a51-0d2e6f7a8b90";

/** A fixed receive time (2026-11-30T12:00:00Z) plus the seq, so maildir names are stable. */
const BASE_TIME = Date.UTC(2026, 10, 30, 12, 0, 0);

/** Record `seq` of `list`: message `seq` of that list, about `size` bytes. */
export function sinkRecord(list: string, seq: number, size = 1024, outbox = OUTBOX): SinkRecord {
  const m = makeMessage(list, seq, size);
  return { outbox, seq, kind: "message", list, messageId: m.messageId, receivedAt: BASE_TIME + seq * 1000, body: m.body };
}

export const CRASH_LISTS = ["alpha", "beta", "gamma"] as const;

/** The record the crash-test writer stores under `seq`: lists round-robin, 2 to 40 KB. */
export function crashRecord(seq: number): SinkRecord {
  const list = CRASH_LISTS[seq % CRASH_LISTS.length]!;
  return sinkRecord(list, seq, 2000 + ((seq * 7919) % 38_000));
}

/** How many records the crash-test writer puts in the batch that starts after `position`. */
export function crashBatchSize(position: number): number {
  return 1 + (position % 9);
}

/**
 * Event `seq` of `list` as publish stores it (a member subscribed: id, type,
 * list and at first), about `size` bytes: its body is the line the events
 * sink writes.
 */
export function eventRecord(list: string, seq: number, size = 300, outbox = OUTBOX): SinkRecord {
  const id = `${list}-${seq}`;
  const at = new Date(BASE_TIME + seq * 1000).toISOString();
  const event = { id, type: "member-subscribed", list, at, address: `m${seq}@example.org`, display_name: "n".repeat(Math.max(0, size - 150)) };
  return { outbox, seq, kind: "event", list, messageId: `event:${id}`, receivedAt: BASE_TIME + seq * 1000, body: Buffer.from(JSON.stringify(event)) };
}

/** The record the events crash-test writer stores under `seq`: lists round-robin, three events in four, the rest messages. */
export function crashEventRecord(seq: number): SinkRecord {
  const list = CRASH_LISTS[seq % CRASH_LISTS.length]!;
  return seq % 4 === 0 ? sinkRecord(list, seq, 2000) : eventRecord(list, seq, 200 + ((seq * 7919) % 4000));
}
