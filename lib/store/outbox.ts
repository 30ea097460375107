// The durable outbox beside Mailman: one SQLite file holding the record log
// (`records`, record-log.ts) and the peer ledger (`peers`, peer-ledger.ts),
// and the retention rule joining them. Several processes share the file
// (publish, serve, status); SQLite's WAL serializes their writers. This
// class owns the connection, the outbox's id and, for a daemon, the thread
// that checkpoints its WAL.

import { OutboxError } from "../errors.js";
import { Checkpointer } from "./checkpointer.js";
import { migrate, OUTBOX_KIND as KIND, OUTBOX_SCHEMA_VERSION as SCHEMA_VERSION } from "./outbox-schema.js";
import { PeerLedger } from "./peer-ledger.js";
import { SqliteRecordLog } from "./record-log.js";
import { PENDING, RelayLog, type OutboxIdentity } from "./relay-log.js";
import { ensureSchema, ForeignDatabaseError, openDatabase, quickCheck, sqliteGuard, type Db, type Durability, type Guard } from "./sqlite.js";

export interface OutboxOpenOptions {
  create?: boolean;
  readonly?: boolean;
  /** "full" fsyncs every commit (the default); "normal" is for the daemon's bookkeeping. */
  durability?: Durability;
  busyTimeoutMs?: number;
  /**
   * A long-running process (serve): WAL checkpoints run on a thread of their
   * own, never inside a commit (a checkpoint copies megabytes and fsyncs,
   * stalling the event loop for tens of milliseconds). Await close().
   */
  daemon?: boolean;
}

export class Outbox {
  readonly records: SqliteRecordLog;
  /** Its records as a relay writes them (relay-log.ts). */
  readonly relay: RelayLog;
  private currentId: string;
  /** Until a relay has its origin's id, the id is read again on each look. */
  private settled: boolean;
  readonly peers: PeerLedger;
  private readonly guard: Guard;
  private checkpointer: Checkpointer | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    readonly path: string,
    private readonly db: Db,
  ) {
    this.currentId = (db.prepare("SELECT value FROM meta WHERE key = 'outbox_id'").pluck().get() as string | undefined) ?? "";
    if (this.currentId === "") throw new OutboxError("OUTBOX_CORRUPT", `${path} has no outbox id: not an mq-archive outbox`);
    this.guard = outboxGuard(path);
    this.records = new SqliteRecordLog(path, db, this.guard);
    this.relay = new RelayLog(path, db, this.guard, this.records.ledger);
    this.settled = this.records.head() > 0 && this.relay.role() !== PENDING;
    this.peers = new PeerLedger(db, this.guard);
  }

  /**
   * The outbox's id: random at creation, or, for a relay, its origin's. An
   * empty outbox may still become a relay (an archive host's subscribe may
   * create it after serve opened it), so its id is read again until it
   * holds records of a known origin. Null: a relay that has not learnt its
   * origin yet.
   */
  identity(): string | null {
    if (this.settled) return this.currentId;
    const role = this.relay.role();
    this.currentId = role !== null && role !== PENDING ? role : this.guard(() => this.db.prepare("SELECT value FROM meta WHERE key = 'outbox_id'").pluck().get() as string);
    this.settled = this.records.head() > 0 && role !== PENDING;
    return role === PENDING ? null : this.currentId;
  }

  /** The id and, for a relay, its floor: what a hello is checked against. */
  identityNow(): OutboxIdentity {
    const id = this.identity();
    return { id, relayFloor: this.relay.role() === null ? null : this.relay.floor() };
  }

  /** The outbox's id as identity() has it; a pending relay's placeholder id until then. */
  get id(): string {
    return this.identity() ?? this.currentId;
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
        const outbox = new Outbox(path, db);
        if (options.daemon) {
          db.pragma("wal_autocheckpoint = 0");
          outbox.checkpointer = new Checkpointer(path);
        }
        return outbox;
      } catch (err) {
        db.close();
        throw err;
      }
    });
  }

  /**
   * Delete records every registered peer has acknowledged and that were
   * received before `cutoff`, and none above `limit` (what live sessions,
   * not yet written down, still need). With no registered peer nothing is
   * pruned: nobody has received anything yet.
   */
  pruneAcknowledged(cutoff: number, limit = Infinity): number {
    const registered = this.peers.minAcked();
    if (registered === null) return 0;
    const through = Math.min(registered, limit);
    if (through <= 0) return 0;
    const pruned = this.records.prune({ through, before: cutoff });
    // A relay's peers may not find the pruned records here any more: they go to the origin for them.
    if (pruned > 0 && this.relay.role() !== null) this.relay.raiseFloor(this.records.lastPruned);
    return pruned;
  }

  /** null when the database passes `PRAGMA quick_check`. */
  check(): string | null {
    return this.guard(() => quickCheck(this.db));
  }

  /** How long a statement waits for another process's lock before failing with OUTBOX_BUSY. */
  setBusyTimeout(ms: number): void {
    this.db.pragma(`busy_timeout = ${ms}`);
  }

  /**
   * Close the connection now. The promise settles once the checkpoint
   * thread (daemon mode) has ended too: until then it may still touch the
   * files, so a process awaits it before it exits or removes them.
   */
  close(): Promise<void> {
    if (this.closing === null) {
      const gone = this.checkpointer?.close() ?? Promise.resolve();
      this.checkpointer = null;
      if (this.db.open) this.db.close();
      this.closing = gone;
    }
    return this.closing;
  }
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
