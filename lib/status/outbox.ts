// The outbox's state and each peer's position and lag, read straight from
// the database so it works whether or not `serve` is running.

import { formatBytes, formatDuration } from "../config/units.js";
import { bothMatch, listMatcher } from "../security/list-match.js";
import type { Outbox } from "../store/outbox.js";

export interface PeerStatus {
  id: string;
  name: string;
  /** Lists it asked for (null: all) and lists it is allowed (null: all). */
  lists: string[] | null;
  allowed: string[] | null;
  acked: number;
  deadLetters: number;
  lag: { records: number; bytes: number; ageMs: number | null };
  lastSeen: string | null;
  registeredAt: string;
}

export interface OutboxStatus {
  /** `records` retained, of them `events` list events. */
  outbox: { path: string; id: string; head: number; first: number; records: number; events: number; bytes: number };
  peers: PeerStatus[];
  /** Handshakes refused because the key is not in the peers file. */
  refused: Array<{ fingerprint: string; publicKey: string; address: string; count: number; lastSeen: string }>;
}

export function readStatus(outbox: Outbox, now = Date.now()): OutboxStatus {
  const stats = outbox.records.stats();
  const peers = outbox.peers.all().map((peer): PeerStatus => {
    const lag = outbox.records.lag(peer.acked, bothMatch(listMatcher(peer.lists), listMatcher(peer.allowed)));
    return {
      id: peer.id,
      name: peer.name,
      lists: peer.lists,
      allowed: peer.allowed,
      acked: peer.acked,
      deadLetters: peer.deadLetters,
      lag: { records: lag.records, bytes: lag.bytes, ageMs: lag.oldest === null ? null : Math.max(0, now - lag.oldest) },
      lastSeen: peer.lastSeen === null ? null : new Date(peer.lastSeen).toISOString(),
      registeredAt: new Date(peer.registeredAt).toISOString(),
    };
  });
  return {
    outbox: { path: outbox.path, id: outbox.id, head: stats.head, first: stats.first, records: stats.count, events: stats.events, bytes: stats.bytes },
    peers,
    refused: outbox.peers.refusals().map((r) => ({
      fingerprint: r.fingerprint,
      publicKey: r.key,
      address: r.address,
      count: r.count,
      lastSeen: new Date(r.lastSeen).toISOString(),
    })),
  };
}

function listsLabel(p: PeerStatus): string {
  const wanted = p.lists === null ? "all" : p.lists.join(",");
  return p.allowed === null ? wanted : `${wanted} of ${p.allowed.join(",")}`;
}

function refusedLines(status: OutboxStatus): string[] {
  if (status.refused.length === 0) return [];
  const total = status.refused.reduce((n, r) => n + r.count, 0);
  const lines = [`refused ${total} handshakes from ${status.refused.length} unknown keys:`];
  for (const r of status.refused.slice(0, 10)) {
    lines.push(`  ${r.fingerprint} ${r.publicKey} from ${r.address || "?"}: ${r.count} times, last ${r.lastSeen}`);
  }
  return [...lines, ""];
}

export function formatStatus(status: OutboxStatus): string {
  const o = status.outbox;
  const lines = [
    `outbox ${o.path} (id ${o.id})`,
    `  head seq ${o.head}; ${o.records} records retained (${formatBytes(o.bytes)})${o.records > 0 ? `, ${o.events} of them events, oldest seq ${o.first}` : ""}`,
    "",
  ];
  lines.push(...refusedLines(status));
  if (status.peers.length === 0) {
    lines.push("no peers have connected yet");
    return `${lines.join("\n")}\n`;
  }
  const rows = [["PEER", "LISTS", "ACKED", "LAG", "LAG BYTES", "OLDEST UNACKED", "DEAD", "LAST SEEN"]];
  for (const p of status.peers) {
    rows.push([
      p.name === p.id ? p.id : `${p.name} (${p.id.slice(0, 12)})`,
      listsLabel(p),
      String(p.acked),
      String(p.lag.records),
      formatBytes(p.lag.bytes),
      p.lag.ageMs === null ? "-" : `${formatDuration(p.lag.ageMs)} ago`,
      String(p.deadLetters),
      p.lastSeen ?? "never",
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) lines.push(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
  return `${lines.join("\n")}\n`;
}
