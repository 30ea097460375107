// The operator's view of an archive peer's dead letters: records a sink
// refused permanently, kept with their bytes until retried.

import { formatDuration } from "../config/units.js";
import type { DeadLetter, SubscriberState } from "../store/state.js";

export interface DeadLetterView {
  id: number;
  sink: string;
  list: string;
  seq: number;
  messageId: string;
  attempts: number;
  failedAt: string;
  status: DeadLetter["status"];
  error: string;
  bytes: number;
}

export function deadLetterViews(state: SubscriberState): DeadLetterView[] {
  return state.deadLetters().map((d) => ({
    id: d.id,
    sink: d.sink,
    list: d.list,
    seq: d.seq,
    messageId: d.messageId,
    attempts: d.attempts,
    failedAt: new Date(d.failedAt).toISOString(),
    status: d.status,
    error: d.error,
    bytes: d.body.length,
  }));
}

export function formatDeadLetters(views: readonly DeadLetterView[], now = Date.now()): string {
  if (views.length === 0) return "no dead letters\n";
  const rows = [["ID", "SINK", "LIST", "SEQ", "MESSAGE-ID", "ATTEMPTS", "FAILED", "STATUS", "ERROR"]];
  for (const v of views) {
    rows.push([
      String(v.id), v.sink, v.list, String(v.seq), v.messageId, String(v.attempts),
      `${formatDuration(now - Date.parse(v.failedAt))} ago`, v.status, v.error.replace(/\s+/g, " ").slice(0, 60),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n")}\n`;
}

export interface SubscriberStatus {
  state: string;
  peerId: string;
  outbox: string | null;
  position: number;
  /** Where this peer chose to start when it had no state (--start), and the position that resolved to (null: before its first session). */
  start: { start: string; position: number } | null;
  /** Records archived (stored by every sink, or dead-lettered), by kind, since the state file was created or upgraded. */
  archived: { messages: number; events: number };
  lists: string[] | null;
  deadLetters: number;
  retriesPending: number;
  /** What sinks said a person must fix (a wrong key, say), as the running (or last) subscriber reported it. */
  sinkProblems: Array<{ sink: string; problem: string; since: string }>;
}

export function readSubscriberStatus(state: SubscriberState): SubscriberStatus {
  return {
    state: state.path,
    peerId: state.peerId,
    outbox: state.outboxId,
    position: state.position,
    start: state.start,
    archived: state.archivedCounts,
    lists: state.lists,
    deadLetters: state.deadLetterCount(),
    retriesPending: state.pendingRetries().length,
    sinkProblems: state.sinkProblems.map((p) => ({ sink: p.sink, problem: p.problem, since: new Date(p.since).toISOString() })),
  };
}

export function formatSubscriberStatus(s: SubscriberStatus, now = Date.now()): string {
  return [
    `archive peer state ${s.state} (peer ${s.peerId})`,
    `  follows outbox ${s.outbox ?? "(none yet)"}, stored up to seq ${s.position}`,
    ...(s.start === null ? [] : [`  started: ${s.start.start}, after seq ${s.start.position}`]),
    `  archived: ${s.archived.messages} messages, ${s.archived.events} events`,
    `  lists: ${s.lists === null ? "all it may receive" : s.lists.join(", ")}`,
    `  dead letters: ${s.deadLetters}${s.retriesPending > 0 ? ` (${s.retriesPending} marked for retry)` : ""}` +
      (s.deadLetters > 0 ? " — see mq-archive dead-letters --state … list" : ""),
    ...s.sinkProblems.map((p) => `  needs attention for ${formatDuration(now - Date.parse(p.since))}: ${p.sink}: ${p.problem}`),
    "",
  ].join("\n");
}
