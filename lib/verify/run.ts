// `verify`: is this archive complete? Compares the subscriber state's
// record of what it archived with the publisher's ledger over the wire
// (compare.ts), optionally reads back what its sinks really hold
// (readback.ts), and with `repair` fetches what is missing and still
// retained, stores it through the sinks and records it.
//
// What is compared: every seq up to the larger of the state's position and
// the position the publisher recorded as this peer's acknowledgement. A
// state restored from an older copy has a lower position than it once
// acknowledged: what lies between is compared too, and found missing.
// The state writes its archived entries in groups (store/archived.ts), so
// a crash of `subscribe` can leave the last quarter second's records
// stored but unrecorded: verify reports them missing, and --repair with a
// readable sink sees the sink holds them and only records them (without a
// readable sink it stores them again: maildir names make that idempotent).

import { hostname } from "node:os";
import type { Logger } from "../log.js";
import { listMatcher } from "../security/list-match.js";
import type { Sink, SinkRecord } from "../sinks/sink.js";
import { archiveKey, type ArchivedEntry } from "../store/archived.js";
import { SubscriberState } from "../store/state.js";
import type { CurveClient } from "../transport/zmq.js";
import type { DataFrame } from "../wire/frames.js";
import { ArchiveView } from "./archive-view.js";
import { VerifyClient } from "./client.js";
import { compare, type ListDifference } from "./compare.js";
import { readbackFor, type Readback } from "./readback.js";

export interface VerifyOptions {
  connect: string;
  state: string;
  lists: string[] | null;
  repair: boolean;
  /** Sink specs: read back (maildir, mbox) and, with repair, stored through. */
  sinkSpecs: string[];
  sinks: Sink[];
  security?: { publicKey: string; secretKey: string; serverKey: string };
  timeoutMs?: number;
  /** The peer's name in the publisher's status (subscribe's --name; default: host name). */
  name?: string;
  log: Logger;
}

/** An archived entry the state records but a sink no longer holds. */
export interface Lost {
  list: string;
  seq: number;
  sink: string;
}

export interface VerifyReport {
  outbox: string;
  lists: number;
  /** The first seq the ledger knows of: nothing below it is compared. */
  since: number;
  through: number;
  position: number;
  acked: number;
  differences: ListDifference[];
  lost: Lost[];
  /** Per sink read back: messages it holds that the state does not record. */
  unrecorded: Array<{ sink: string; list: string; count: number }>;
  /** Sinks that could not be read back. */
  unreadable: string[];
  repaired: number;
  /** Missing (or lost) and no longer retained by this publisher. */
  unrecoverable: Array<{ list: string; seq: number }>;
  bytes: { sent: number; received: number };
  /** Of `ms`, the time spent waiting out BUSY answers. */
  waitedMs: number;
  ranges: number;
  ms: number;
}

export function agrees(r: VerifyReport): boolean {
  const open = r.differences.some((d) => d.missing.length > 0 || d.extra.length > 0) || r.lost.length > 0;
  return !open || (r.repaired > 0 && r.unrecoverable.length === 0 && r.differences.every((d) => d.extra.length === 0));
}

export async function verify(o: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const state = SubscriberState.open(o.state, { create: false });
  const client = new VerifyClient({
    connect: o.connect,
    peer: o.security?.publicKey ?? state.peerId,
    name: o.name ?? hostname(), // the publisher's status shows the peer under this name, as subscribe's

    from: state.position,
    outbox: state.outboxId,
    lists: o.lists,
    ...(o.security ? { curve: o.security as CurveClient } : {}),
    ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
  });
  try {
    await client.open();
    const remote = await client.lists();
    const wanted = listMatcher(o.lists);
    const view = state.archivedView();
    const lists = [...new Set([...remote.lists, ...view.lists().filter(wanted)])].sort();
    const through = Math.min(Math.max(state.position, remote.acked), remote.head);
    const archive = new ArchiveView(view, through);
    const comparison = await compare(lists, remote.since, through, client, archive);
    const report: VerifyReport = {
      outbox: client.outbox, lists: lists.length, since: remote.since, through, position: state.position, acked: remote.acked,
      differences: comparison.differences, lost: [], unrecorded: [], unreadable: [], repaired: 0, unrecoverable: [],
      bytes: client.bytes, waitedMs: 0, ranges: comparison.ranges, ms: 0,
    };
    const readbacks = o.sinkSpecs.map((spec) => ({ spec, reader: readbackFor(spec, client.outbox) }));
    report.unreadable = readbacks.filter((r) => r.reader === null).map((r) => r.spec);
    const readers = readbacks.flatMap((r) => (r.reader === null ? [] : [r.reader]));
    // A dead letter counts as archived (the list went on) but no sink holds it: not lost.
    const dead = new Set(readers.length > 0 ? state.deadLetters().map((d) => `${d.list}\n${d.seq}`) : []);
    try {
      for (const list of readers.length > 0 ? lists : []) {
        const entries = view.entries(list, remote.since, through).filter((e) => !dead.has(`${list}\n${e.seq}`));
        await readBackList(list, entries, readers, report, client);
      }
    } finally {
      for (const reader of readers) await reader.close?.();
    }
    if (o.repair) await repair(report, readers, client, state, o);
    report.ms = performance.now() - started;
    report.waitedMs = client.waitedMs;
    return report;
  } finally {
    client.close();
    await state.close();
  }
}

async function readBackList(
  list: string,
  entries: Array<{ seq: number; key: Buffer }>,
  readers: Readback[],
  report: VerifyReport,
  client: VerifyClient,
): Promise<void> {
  for (const reader of readers) {
    const notFound: number[] = [];
    for (const e of entries) if (!(await reader.holds(list, e))) notFound.push(e.seq);
    for (const seq of await stillLost(list, notFound, reader, client)) report.lost.push({ list, seq, sink: reader.sink });
    const count = await reader.unrecorded(list, entries);
    if (count > 0) report.unrecorded.push({ sink: reader.sink, list, count });
  }
}

/**
 * Of the seqs a sink was not found holding, those it has lost: list events
 * pass by every sink that is read back (not lost), and one that can look a
 * retained record up another way (public-inbox by content, HyperKitty by
 * Python's reading of its Message-ID) may hold it after all.
 */
async function stillLost(list: string, seqs: number[], reader: Readback, client: VerifyClient): Promise<number[]> {
  const lost: number[] = [];
  // 64 records at a time: a large loss must not hold every body at once.
  for (let i = 0; i < seqs.length; i += 64) {
    const chunk = seqs.slice(i, i + 64);
    const records = new Map((await client.get(chunk)).records.map((r) => [r.seq, r]));
    const messages = chunk.filter((s) => records.get(s)?.kind !== "event");
    const retained = messages.flatMap((seq) => {
      const r = records.get(seq);
      return r === undefined ? [] : [{ list, seq, body: Buffer.from(r.body) }];
    });
    const held = reader.confirm === undefined ? new Set<number>() : await reader.confirm(retained);
    lost.push(...messages.filter((s) => !held.has(s)));
  }
  return lost;
}

async function repair(report: VerifyReport, readers: Readback[], client: VerifyClient, state: SubscriberState, o: VerifyOptions): Promise<void> {
  const missing = report.differences.flatMap((d) => d.missing.map((m) => ({ list: d.list, seq: m.seq })));
  const wanted = [...new Map([...missing, ...report.lost].map((m) => [m.seq, m.list])).entries()];
  if (wanted.length === 0) return;
  for (const reader of readers) await reader.beforeRepair?.();
  for (const sink of o.sinks) {
    await sink.start({
      journal: state.journal(sink.name),
      committed: state.position,
      position: () => state.position,
      commits: () => state.commits,
      outbox: state.outboxId,
      log: o.log.child({ sink: sink.name }),
      problem: () => undefined,
    });
  }
  try {
    for (let i = 0; i < wanted.length; i += 64) {
      const chunk = wanted.slice(i, i + 64);
      const { records, missing: gone } = await client.get(chunk.map(([seq]) => seq));
      const bySeq = new Map(chunk);
      for (const seq of gone) report.unrecoverable.push({ list: bySeq.get(seq) ?? "", seq });
      await storeRepaired(records.sort((a, b) => a.seq - b.seq), readers, o.sinks, state, client.outbox);
      report.repaired += records.length;
    }
  } finally {
    for (const sink of o.sinks) await sink.close();
  }
}

/** Store through each sink what it does not hold already, then record them all as archived. */
async function storeRepaired(records: DataFrame[], readers: Readback[], sinks: Sink[], state: SubscriberState, outbox: string): Promise<void> {
  const entries: ArchivedEntry[] = records.map((r) => ({ list: r.list, messageId: r.messageId, seq: r.seq, key: archiveKey(r.messageId) }));
  for (const sink of sinks) {
    const reader = readers.find((r) => r.sink === sink.name);
    const todo: SinkRecord[] = [];
    for (const [i, r] of records.entries()) {
      if (reader && (await reader.holds(r.list, { seq: r.seq, key: entries[i]!.key! }))) continue;
      const { type: _type, prev: _prev, ...record } = r;
      todo.push({ ...record, outbox });
    }
    if (todo.length > 0) await sink.store(todo);
  }
  state.commitRepaired(entries);
  await state.sync();
}
