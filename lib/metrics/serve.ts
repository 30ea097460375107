// serve's metrics and health, read from the publisher and its outbox. The
// outbox's numbers are the ones `status --db` shows (one readStatus, taken
// at most once a second); when the outbox is busy a scrape answers with the
// last ones it got.

import type { Registry } from "prom-client";
import { isOutboxBusy, errorMessage } from "../errors.js";
import type { Publisher } from "../publisher/publisher.js";
import { readStatus, type OutboxStatus, type PeerStatus } from "../status/outbox.js";
import { readSpoolStatus, type SpoolStatus } from "../status/spool.js";
import { counter, gauge, one, type Sample } from "./collect.js";
import type { Health } from "./http.js";

/** Reads of the outbox at most this often. */
const SNAPSHOT_MS = 1000;
/** The spool's imports failing this long makes serve unhealthy (a busy outbox for a moment is normal). */
const SPOOL_FAILING_MS = 30_000;

export function serveMetrics(registry: Registry, publisher: Publisher, spoolDir: string | null): () => Health {
  const outbox = new OutboxSnapshots(publisher);
  const peers = (value: (p: PeerStatus) => number): (() => Sample) => () => {
    const s = outbox.get();
    return s === null ? [] : peerLabels(s.peers).map(([labels, p]) => [labels, value(p)]);
  };
  const ofOutbox = (value: (o: OutboxStatus["outbox"]) => number): (() => Sample) => () => {
    const s = outbox.get();
    return s === null ? [] : one(value(s.outbox));
  };
  gauge(registry, "mq_archive_outbox_head_seq", "Highest committed seq of the outbox.", [], () => one(publisher.counters().head));
  gauge(registry, "mq_archive_outbox_first_seq", "Oldest seq the outbox retains.", [], ofOutbox((o) => o.first));
  gauge(registry, "mq_archive_outbox_records", "Records the outbox retains.", [], ofOutbox((o) => o.records));
  gauge(registry, "mq_archive_outbox_bytes", "Body bytes the outbox retains.", [], ofOutbox((o) => o.bytes));
  counter(registry, "mq_archive_records_committed_total", "Records committed to the outbox since serve started (publish, imports, the spool).", [], () =>
    one(publisher.counters().committed),
  );
  counter(registry, "mq_archive_records_pruned_total", "Records pruned after every peer acknowledged them.", [], () => one(publisher.counters().pruned));
  gauge(registry, "mq_archive_peer_acked_seq", "The seq up to which a peer acknowledged.", ["peer"], peers((p) => p.acked));
  gauge(registry, "mq_archive_peer_lag_records", "Records a peer would receive and has not acknowledged.", ["peer"], peers((p) => p.lag.records));
  gauge(registry, "mq_archive_peer_lag_bytes", "Body bytes of those records.", ["peer"], peers((p) => p.lag.bytes));
  gauge(registry, "mq_archive_peer_oldest_unacked_age_seconds", "Age of a peer's oldest unacknowledged record (0: none).", ["peer"],
    peers((p) => (p.lag.ageMs ?? 0) / 1000));
  gauge(registry, "mq_archive_peer_last_seen_age_seconds", "Seconds since a peer was last heard from.", ["peer"],
    peers((p) => (p.lastSeen === null ? Number.NaN : Math.max(0, Date.now() - Date.parse(p.lastSeen)) / 1000)));
  gauge(registry, "mq_archive_peer_dead_letters", "Dead letters a peer reports holding.", ["peer"], peers((p) => p.deadLetters));
  gauge(registry, "mq_archive_peer_connected", "1 while a session with the peer is open.", ["peer"], () => {
    const s = outbox.get();
    if (s === null) return [];
    const live = new Set(publisher.sessions().map((x) => x.peerId));
    return peerLabels(s.peers).map(([labels, p]) => [labels, live.has(p.id) ? 1 : 0]);
  });
  counter(registry, "mq_archive_refused_handshakes_total", "Handshakes refused: the key is not in the peers file.", [], () => one(publisher.counters().refused));
  counter(registry, "mq_archive_bad_frames_total", "Malformed frames received from peers.", [], () => one(publisher.counters().badFrames));
  counter(registry, "mq_archive_hellos_total", "Hellos received from peers.", [], () => one(publisher.counters().hellos));
  if (spoolDir !== null) spoolMetrics(registry, spoolDir);
  return () => serveHealth(publisher, outbox);
}

function spoolMetrics(registry: Registry, dir: string): void {
  let last: Promise<SpoolStatus | null> | null = null;
  let at = 0;
  const spool = (): Promise<SpoolStatus | null> => {
    if (last === null || Date.now() - at >= SNAPSHOT_MS) {
      at = Date.now();
      last = readSpoolStatus(dir).catch(() => null);
    }
    return last;
  };
  const of = (value: (s: SpoolStatus) => number) => async (): Promise<Sample> => {
    const s = await spool();
    return s === null ? [] : one(value(s));
  };
  gauge(registry, "mq_archive_spool_waiting_files", "Messages and events waiting in the spool.", [], of((s) => s.waiting.files + s.events));
  gauge(registry, "mq_archive_spool_oldest_age_seconds", "Age of the oldest waiting file (0: none).", [], of((s) => (s.waiting.oldestAgeMs ?? 0) / 1000));
  gauge(registry, "mq_archive_spool_rejected_files", "Files kept in the spool's rejected/.", [], of((s) => s.rejected));
}

/** Peers by name; two peers of one name are told apart by their id's start. */
function peerLabels(peers: readonly PeerStatus[]): Array<[Record<string, string>, PeerStatus]> {
  const seen = new Map<string, number>();
  for (const p of peers) seen.set(p.name, (seen.get(p.name) ?? 0) + 1);
  return peers.map((p) => [{ peer: (seen.get(p.name) ?? 0) > 1 ? `${p.name}~${p.id.slice(0, 8)}` : p.name }, p]);
}

function serveHealth(publisher: Publisher, outbox: OutboxSnapshots): Health {
  const s = outbox.get();
  if (s === null) return { ok: false, reason: `the outbox cannot be read: ${outbox.error ?? "serve is not running"}` };
  const failing = publisher.spoolFailingSince;
  if (failing !== null && Date.now() - failing > SPOOL_FAILING_MS) {
    return { ok: false, reason: `the spool cannot be imported into the outbox since ${new Date(failing).toISOString()} (see serve's log)` };
  }
  return { ok: true, head: s.outbox.head, peers: s.peers.length };
}

/** readStatus of the served outbox, taken at most once a second; the last good one while the outbox is busy. */
class OutboxSnapshots {
  private last: OutboxStatus | null = null;
  private at = 0;
  /** Why the last read failed (not for a busy outbox), until one succeeds. */
  error: string | null = null;

  constructor(private readonly publisher: Publisher) {}

  get(): OutboxStatus | null {
    const outbox = this.publisher.outbox;
    if (outbox === null) return null;
    if (Date.now() - this.at < SNAPSHOT_MS) return this.error === null ? this.last : null;
    this.at = Date.now();
    try {
      this.last = readStatus(outbox);
      this.error = null;
    } catch (err) {
      if (!isOutboxBusy(err)) this.error = errorMessage(err);
    }
    return this.error === null ? this.last : null;
  }
}
