// The durable outbox beside Mailman: one row per record, a global seq that is
// never reused, dedupe on (list, Message-ID), and the registered peers with
// what each has acknowledged. Several processes share the file (publish,
// serve, status); SQLite's WAL serializes their writers.

import { utimesSync, writeFileSync } from "node:fs";
import { OutboxError } from "../errors.js";
import type { BodyRecord, RecordKind } from "../message/record.js";
import { migrate, OUTBOX_KIND as KIND, OUTBOX_SCHEMA_VERSION as SCHEMA_VERSION } from "./outbox-schema.js";
import { ensureSchema, ForeignDatabaseError, lazy, openDatabase, quickCheck, sqliteGuard, type Db, type Durability, type Guard } from "./sqlite.js";


/** The file `append` touches after each commit, beside the outbox. */
export function wakeFile(dbPath: string): string {
  return `${dbPath}-wake`;
}

export interface NewRecord {
  list: string;
  messageId: string;
  body: Buffer;
  kind?: RecordKind;
}

/** A record as the outbox holds it: its size is the body's, kept in the row so scans need not read bodies. */
export interface OutboxRecord extends BodyRecord {
  size: number;
}

export interface AppendResult {
  seq: number;
  duplicate: boolean;
}

export interface PeerRow {
  id: string;
  name: string;
  /** Lists the peer asked for, or null for all. */
  lists: string[] | null;
  /** Lists the peers file allows it (globs), or null for all. */
  allowed: string[] | null;
  /** Records waiting in its dead-letter store, as it last reported. */
  deadLetters: number;
  acked: number;
  ackedAt: number | null;
  registeredAt: number;
  lastSeen: number | null;
}

/** Refused keys kept for status: the most recently seen. */
export const MAX_REFUSAL_ROWS = 1000;

/** Handshakes refused for a key that is not in the allowlist. */
export interface RefusalRow {
  fingerprint: string;
  key: string;
  address: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
}

export interface ReadLimits {
  /** At most this many records. */
  limit: number;
  /** Stop once this many body bytes are read (at least one record is returned). */
  maxBytes: number;
}

export interface OutboxOpenOptions {
  create?: boolean;
  readonly?: boolean;
  /** "full" fsyncs every commit (the default); "normal" is for the daemon's bookkeeping. */
  durability?: Durability;
  busyTimeoutMs?: number;
}

type Row = {
  seq: number;
  kind: RecordKind;
  list: string;
  message_id: string;
  received_at: number;
  size: number;
  body: Buffer;
};

export class Outbox {
  readonly id: string;
  private readonly stmts;
  private readonly guard: Guard;

  private constructor(
    readonly path: string,
    private readonly db: Db,
  ) {
    this.id = (db.prepare("SELECT value FROM meta WHERE key = 'outbox_id'").pluck().get() as string | undefined) ?? "";
    if (this.id === "") throw new OutboxError("OUTBOX_CORRUPT", `${path} has no outbox id: not an mq-archive outbox`);
    this.stmts = prepare(db);
    this.guard = outboxGuard(path);
  }

  static open(path: string, options: OutboxOpenOptions = {}): Outbox {
    return outboxGuard(path)(() => {
      const db = openDatabase(path, {
        create: options.create ?? true,
        readonly: options.readonly ?? false,
        durability: options.durability ?? "full",
        ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
      });
      try {
        if (!options.readonly) ensureSchema(db, KIND, SCHEMA_VERSION, (from) => migrate(db, from));
        else if (db.pragma("application_id", { simple: true }) !== KIND.applicationId) {
          throw new ForeignDatabaseError(`${path} is not an mq-archive outbox`);
        }
        return new Outbox(path, db);
      } catch (err) {
        db.close();
        throw err;
      }
    });
  }

  /** Commit one record (or find the existing one with the same list and Message-ID). */
  append(record: NewRecord): AppendResult {
    const result = this.guard(() => this.db.transaction(() => this.appendOne(record, Date.now())).immediate());
    if (!result.duplicate) this.wake();
    return result;
  }

  /** Commit many records in one transaction (one fsync): the bulk-import path. */
  appendMany(records: readonly NewRecord[]): AppendResult[] {
    return this.guard(() => {
      const now = Date.now();
      const results = this.db.transaction(() => records.map((r) => this.appendOne(r, now))).immediate();
      if (results.some((r) => !r.duplicate)) this.wake();
      return results;
    });
  }

  /**
   * Tell a watching `serve` that a commit is visible now. SQLite's WAL write
   * comes before the commit's fsync and its wal-index update, which no file
   * watch sees; touching this file after the commit does.
   */
  private wake(): void {
    const file = wakeFile(this.path);
    const now = new Date();
    try {
      utimesSync(file, now, now); // setting times needs ownership: another user of a shared outbox writes instead
    } catch {
      try {
        writeFileSync(file, ""); // creates it, or truncates it: a modification a watch sees
      } catch {
        /* serve's poll will notice */
      }
    }
  }

  /** Inside a write transaction. Looks before inserting: an ignored INSERT would still burn a seq. */
  private appendOne(record: NewRecord, now: number): AppendResult {
    const existing = this.stmts.findByMessageId.get(record.list, record.messageId) as number | undefined;
    if (existing !== undefined) return { seq: existing, duplicate: true };
    const kind = record.kind ?? "message";
    const info = this.stmts.insert.run(kind, record.list, record.messageId, now, record.body.length, record.body);
    return { seq: Number(info.lastInsertRowid), duplicate: false };
  }

  /** The last seq ever assigned (0 when none), whether or not it is still retained. */
  head(): number {
    return this.guard(() => (this.stmts.head.get() as number | undefined) ?? 0);
  }

  /** The oldest retained seq, or 0 when the outbox holds no record. */
  first(): number {
    return this.guard(() => (this.stmts.first.get() as number | null | undefined) ?? 0);
  }

  /** Records after `after`, in seq order, within the limits. */
  readAfter(after: number, limits: ReadLimits): OutboxRecord[] {
    return this.guard(() => {
      const out: OutboxRecord[] = [];
      let bytes = 0;
      for (const row of this.stmts.readAfter.iterate(after, limits.limit) as Iterable<Row>) {
        out.push(toRecord(row));
        bytes += row.size;
        if (bytes >= limits.maxBytes) break;
      }
      return out;
    });
  }

  /**
   * Records after `after` whose list passes `accept`, in seq order. Bodies of
   * refused lists are never read. Scans at most `scan` rows; `scanned` is the
   * last seq looked at, so a caller can resume past a long run of refused rows.
   */
  readAfterFiltered(
    after: number,
    accept: (list: string) => boolean,
    limits: ReadLimits & { scan: number },
  ): { records: OutboxRecord[]; scanned: number } {
    return this.guard(() => {
      const out: OutboxRecord[] = [];
      let bytes = 0;
      let scanned = after;
      for (const row of this.stmts.scanAfter.iterate(after, limits.scan) as Iterable<Omit<Row, "body">>) {
        scanned = row.seq;
        if (!accept(row.list)) continue;
        const body = this.stmts.body.get(row.seq) as Buffer | undefined;
        if (body === undefined) continue; // pruned between the two statements
        out.push(toRecord({ ...row, body }));
        bytes += row.size;
        if (out.length >= limits.limit || bytes >= limits.maxBytes) break;
      }
      return { records: out, scanned };
    });
  }

  get(seq: number): OutboxRecord | undefined {
    return this.guard(() => {
      const row = this.stmts.get.get(seq) as Row | undefined;
      return row === undefined ? undefined : toRecord(row);
    });
  }

  /** Record (or refresh) a peer at session start. Its acked seq never moves back (a peer cannot hold back pruning by claiming less). */
  registerPeer(peer: { id: string; name: string; lists: string[] | null; acked: number }, now = Date.now()): void {
    this.guard(() => {
      const lists = peer.lists === null ? null : JSON.stringify(peer.lists);
      this.stmts.upsertPeer.run({ id: peer.id, name: peer.name, lists, acked: peer.acked, now });
    });
  }

  /** Register peers and persist acknowledgements and liveness, in one transaction. */
  writePeers(
    registrations: ReadonlyArray<{ id: string; name: string; lists: string[] | null; acked: number; at: number }>,
    updates: ReadonlyArray<{ id: string; acked: number; ackedAt: number | null; lastSeen: number; deadLetters?: number }>,
  ): void {
    if (registrations.length === 0 && updates.length === 0) return;
    this.guard(() => {
      this.db.transaction(() => {
        for (const r of registrations) {
          const lists = r.lists === null ? null : JSON.stringify(r.lists);
          this.stmts.upsertPeer.run({ id: r.id, name: r.name, lists, acked: r.acked, now: r.at });
        }
        for (const u of updates) this.stmts.updatePeer.run(peerUpdate(u));
      }).immediate();
    });
  }

  /** Persist acknowledgements and liveness for many peers in one transaction. */
  updatePeers(
    updates: ReadonlyArray<{ id: string; acked: number; ackedAt: number | null; lastSeen: number; deadLetters?: number }>,
  ): void {
    if (updates.length === 0) return;
    this.guard(() => {
      this.db.transaction(() => {
        for (const u of updates) this.stmts.updatePeer.run(peerUpdate(u));
      })();
    });
  }

  /** What a peer has acknowledged, as recorded (null: not registered). */
  ackedOf(id: string): number | null {
    return this.guard(() => (this.stmts.ackedOf.get(id) as number | undefined) ?? null);
  }

  peers(): PeerRow[] {
    return this.guard(() => (this.stmts.peers.all() as PeerDbRow[]).map(toPeer));
  }

  /**
   * Make the registered peers exactly `peers` (the publisher's allowlist):
   * new keys are registered at seq 0, names follow the file, and peers no
   * longer listed are forgotten, so they no longer hold back pruning.
   */
  syncPeers(peers: ReadonlyArray<{ id: string; name: string; lists: string[] | null }>, now = Date.now()): string[] {
    return this.guard(() =>
      this.db.transaction(() => {
        const wanted = new Set(peers.map((p) => p.id));
        const forgotten = (this.stmts.peers.all() as PeerDbRow[]).filter((r) => !wanted.has(r.id)).map((r) => r.id);
        for (const id of forgotten) this.stmts.forgetPeer.run(id);
        for (const p of peers) {
          this.stmts.registerListed.run({ id: p.id, name: p.name, allowed: p.lists === null ? null : JSON.stringify(p.lists), now });
        }
        return forgotten;
      }).immediate(), // it reads before it writes: take the write lock first, or a concurrent commit makes it fail
    );
  }

  /** Count refused handshakes per key, for status; only the MAX_REFUSAL_ROWS most recent keys are kept (an attacker makes keys for free). */
  recordRefusals(refusals: ReadonlyArray<{ fingerprint: string; key: string; address: string; count: number; at: number }>): void {
    if (refusals.length === 0) return;
    this.guard(() => {
      this.db.transaction(() => {
        for (const r of refusals) this.stmts.refusal.run(r);
        this.stmts.trimRefusals.run(MAX_REFUSAL_ROWS);
      })();
    });
  }

  refusals(): RefusalRow[] {
    type Row = { fingerprint: string; key: string; address: string; count: number; first_seen: number; last_seen: number };
    return this.guard(() =>
      (this.stmts.refusals.all() as Row[]).map((r) => ({
        fingerprint: r.fingerprint,
        key: r.key,
        address: r.address,
        count: r.count,
        firstSeen: r.first_seen,
        lastSeen: r.last_seen,
      })),
    );
  }

  /** Forget a peer (by id, or by name when one peer has it): it no longer holds back pruning. */
  forgetPeer(id: string): boolean {
    return this.guard(() =>
      this.db.transaction(() => {
        if (this.stmts.forgetPeer.run(id).changes > 0) return true;
        const named = this.stmts.peersNamed.all(id) as Array<{ id: string }>;
        return named.length === 1 && this.stmts.forgetPeer.run(named[0]!.id).changes > 0;
      })(),
    );
  }

  /**
   * Delete records every registered peer has acknowledged and that were
   * received before `cutoff`, and none above `limit` (what live sessions,
   * not yet written down, still need). With no registered peer nothing is
   * pruned: nobody has received anything yet. Deletes in chunks so writers
   * never wait long.
   */
  prune(cutoff: number, limit = Infinity): number {
    return this.guard(() => {
      const registered = this.stmts.pruneBound.get() as number | null;
      if (registered === null) return 0;
      const bound = Math.min(registered, limit);
      if (bound <= 0) return 0;
      let total = 0;
      for (;;) {
        const n = this.stmts.prune.run(bound, cutoff).changes;
        total += n;
        if (n < 1000) return total;
      }
    });
  }

  stats(): { head: number; first: number; count: number; bytes: number } {
    return this.guard(() => {
      const s = this.stmts.stats.get() as { count: number; bytes: number | null; first: number | null };
      return { head: this.head(), first: s.first ?? 0, count: s.count, bytes: s.bytes ?? 0 };
    });
  }

  /** What a peer is missing: records after `acked` it would receive, their bytes and the oldest one's age. */
  lag(acked: number, accept: (list: string) => boolean): { records: number; bytes: number; oldest: number | null } {
    return this.guard(() => {
      let records = 0;
      let bytes = 0;
      let oldest: number | null = null;
      for (const row of this.stmts.lagScan.iterate(acked) as Iterable<{ list: string; size: number; received_at: number }>) {
        if (!accept(row.list)) continue;
        records++;
        bytes += row.size;
        oldest ??= row.received_at;
      }
      return { records, bytes, oldest };
    });
  }

  /** In one read: the oldest retained seq (0 if none), the head, and the lowest ack of any registered peer. */
  retention(): { first: number; head: number; minAcked: number | null } {
    return this.guard(() =>
      this.db.transaction(() => ({ first: this.first(), head: this.head(), minAcked: this.stmts.pruneBound.get() as number | null }))(),
    );
  }

  /** null when the database passes `PRAGMA quick_check`. */
  check(): string | null {
    return this.guard(() => quickCheck(this.db));
  }

  /**
   * Leave WAL checkpoints to another connection (serve's Checkpointer
   * thread): a checkpoint copies megabytes and fsyncs, and would stall a
   * daemon's event loop for tens of milliseconds.
   */
  leaveCheckpointsToOthers(): void {
    this.db.pragma("wal_autocheckpoint = 0");
  }

  /** How long a statement waits for another process's lock before failing with OUTBOX_BUSY. */
  setBusyTimeout(ms: number): void {
    this.db.pragma(`busy_timeout = ${ms}`);
  }

  /** The file's data version: changes whenever another connection commits. */
  dataVersion(): number {
    return this.db.pragma("data_version", { simple: true }) as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

type PeerDbRow = {
  id: string;
  name: string;
  lists: string | null;
  allowed: string | null;
  dead_letters: number;
  acked: number;
  acked_at: number | null;
  registered_at: number;
  last_seen: number | null;
};

function toPeer(row: PeerDbRow): PeerRow {
  return {
    id: row.id,
    name: row.name,
    lists: row.lists === null ? null : (JSON.parse(row.lists) as string[]),
    allowed: row.allowed === null ? null : (JSON.parse(row.allowed) as string[]),
    deadLetters: row.dead_letters,
    acked: row.acked,
    ackedAt: row.acked_at,
    registeredAt: row.registered_at,
    lastSeen: row.last_seen,
  };
}

function toRecord(row: Row): OutboxRecord {
  return {
    seq: row.seq,
    kind: row.kind,
    list: row.list,
    messageId: row.message_id,
    receivedAt: row.received_at,
    size: row.size,
    body: row.body,
  };
}

function peerUpdate(u: { id: string; acked: number; ackedAt: number | null; lastSeen: number; deadLetters?: number }) {
  return { id: u.id, acked: u.acked, ackedAt: u.ackedAt, lastSeen: u.lastSeen, deadLetters: u.deadLetters ?? null };
}

function prepare(db: Db) {
  const columns = "seq, kind, list, message_id, received_at, size";
  return lazy({
    insert: () => db.prepare("INSERT INTO records (kind, list, message_id, received_at, size, body) VALUES (?, ?, ?, ?, ?, ?)"),
    findByMessageId: () => db.prepare("SELECT seq FROM records WHERE list = ? AND message_id = ?").pluck(),
    head: () => db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'records'").pluck(),
    first: () => db.prepare("SELECT min(seq) FROM records").pluck(),
    readAfter: () => db.prepare(`SELECT ${columns}, body FROM records WHERE seq > ? ORDER BY seq LIMIT ?`),
    scanAfter: () => db.prepare(`SELECT ${columns} FROM records WHERE seq > ? ORDER BY seq LIMIT ?`),
    body: () => db.prepare("SELECT body FROM records WHERE seq = ?").pluck(),
    get: () => db.prepare(`SELECT ${columns}, body FROM records WHERE seq = ?`),
    upsertPeer: () => db.prepare(
      `INSERT INTO peers (id, name, lists, acked, registered_at, last_seen) VALUES (@id, @name, @lists, @acked, @now, @now)
       ON CONFLICT (id) DO UPDATE SET name = @name, lists = @lists, acked = max(acked, @acked), last_seen = @now`,
    ),
    updatePeer: () => db.prepare(
      `UPDATE peers SET acked_at = CASE WHEN @acked > acked THEN @ackedAt ELSE acked_at END, acked = max(acked, @acked),
         last_seen = @lastSeen, dead_letters = coalesce(@deadLetters, dead_letters) WHERE id = @id`,
    ),
    registerListed: () => db.prepare(
      `INSERT INTO peers (id, name, allowed, acked, registered_at) VALUES (@id, @name, @allowed, 0, @now)
       ON CONFLICT (id) DO UPDATE SET name = @name, allowed = @allowed`,
    ),
    refusal: () => db.prepare(
      `INSERT INTO refusals (fingerprint, key, address, count, first_seen, last_seen) VALUES (@fingerprint, @key, @address, @count, @at, @at)
       ON CONFLICT (fingerprint) DO UPDATE SET count = count + @count, last_seen = @at, address = @address`,
    ),
    refusals: () => db.prepare("SELECT * FROM refusals ORDER BY last_seen DESC"),
    peers: () => db.prepare("SELECT * FROM peers ORDER BY name, id"),
    ackedOf: () => db.prepare("SELECT acked FROM peers WHERE id = ?").pluck(),
    trimRefusals: () => db.prepare(
      "DELETE FROM refusals WHERE fingerprint NOT IN (SELECT fingerprint FROM refusals ORDER BY last_seen DESC LIMIT ?)",
    ),
    forgetPeer: () => db.prepare("DELETE FROM peers WHERE id = ?"),
    peersNamed: () => db.prepare("SELECT id FROM peers WHERE name = ?"),
    pruneBound: () => db.prepare("SELECT min(acked) FROM peers").pluck(),
    prune: () => db.prepare(
      `DELETE FROM records WHERE seq IN
         (SELECT seq FROM records WHERE seq <= ? AND received_at < ? ORDER BY seq LIMIT 1000)`,
    ),
    stats: () => db.prepare("SELECT count(*) AS count, sum(size) AS bytes, min(seq) AS first FROM records"),
    lagScan: () => db.prepare("SELECT list, size, received_at FROM records WHERE seq > ? ORDER BY seq"),
  });
}

/** The outbox's guard: SQLite failures become OutboxErrors a person can act on. */
export function outboxGuard(path: string): Guard {
  return sqliteGuard(OutboxError, (condition, detail, cause) => {
    switch (condition) {
      case "busy":
        return new OutboxError("OUTBOX_BUSY", `outbox ${path} is locked by another process: ${detail}`, { cause });
      case "full":
        return new OutboxError("OUTBOX_FULL", `outbox ${path}: disk full: ${detail}`, { cause });
      case "corrupt":
        return new OutboxError("OUTBOX_CORRUPT", `outbox ${path} is corrupt or not a database: ${detail}`, { cause });
      default:
        return new OutboxError("OUTBOX_UNUSABLE", `outbox ${path} is unusable: ${detail}`, { cause });
    }
  });
}
