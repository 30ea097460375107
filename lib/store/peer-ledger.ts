// The outbox's peer ledger: the registered peers with what each has
// acknowledged (which bounds pruning), when each was last heard, and the
// handshakes refused for unknown keys. `serve` writes it, `status` reads it.

import { lazy, type Db, type Guard } from "./sqlite.js";

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

/** A session start: the peer, the lists it asked for and the seq it says it holds, at `at`. */
export interface PeerRegistration {
  id: string;
  name: string;
  lists: string[] | null;
  acked: number;
  at: number;
}

/** A peer's acknowledgement and liveness (and its dead letters, when it reported them). */
export interface PeerProgress {
  id: string;
  acked: number;
  ackedAt: number | null;
  lastSeen: number;
  deadLetters?: number;
}

/** A peer of the publisher's allowlist, with the lists it may receive (null: all). */
export interface ListedPeer {
  id: string;
  name: string;
  lists: string[] | null;
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

export type Refusal = Omit<RefusalRow, "firstSeen" | "lastSeen"> & { at: number };

export class PeerLedger {
  private readonly stmts;

  constructor(
    private readonly db: Db,
    private readonly guard: Guard,
  ) {
    this.stmts = prepare(db);
  }

  /**
   * Register peers and record acknowledgements and liveness, in one
   * transaction. A peer's recorded ack never moves back (a peer cannot hold
   * back pruning by claiming less), and its ackedAt changes only when it grows.
   */
  write(registrations: readonly PeerRegistration[], updates: readonly PeerProgress[]): void {
    if (registrations.length === 0 && updates.length === 0) return;
    this.guard(() => {
      this.db.transaction(() => {
        for (const r of registrations) {
          const lists = r.lists === null ? null : JSON.stringify(r.lists);
          this.stmts.upsert.run({ id: r.id, name: r.name, lists, acked: r.acked, now: r.at });
        }
        for (const u of updates) {
          this.stmts.update.run({ id: u.id, acked: u.acked, ackedAt: u.ackedAt, lastSeen: u.lastSeen, deadLetters: u.deadLetters ?? null });
        }
      }).immediate();
    });
  }

  /** What a peer has acknowledged, as recorded (null: not registered). */
  ackedOf(id: string): number | null {
    return this.guard(() => (this.stmts.ackedOf.get(id) as number | undefined) ?? null);
  }

  /** The lowest ack of any registered peer (null: none is registered): nothing above it may be pruned. */
  minAcked(): number | null {
    return this.guard(() => this.stmts.minAcked.get() as number | null);
  }

  all(): PeerRow[] {
    return this.guard(() => (this.stmts.all.all() as PeerDbRow[]).map(toPeer));
  }

  /**
   * Make the registered peers exactly `peers` (the publisher's allowlist):
   * new keys are registered at seq 0, names follow the file, and peers no
   * longer listed are forgotten, so they no longer hold back pruning.
   * Returns the forgotten ids.
   */
  syncAllowlist(peers: readonly ListedPeer[], now = Date.now()): string[] {
    return this.guard(() =>
      this.db.transaction(() => {
        const wanted = new Set(peers.map((p) => p.id));
        const forgotten = (this.stmts.all.all() as PeerDbRow[]).filter((r) => !wanted.has(r.id)).map((r) => r.id);
        for (const id of forgotten) this.stmts.forget.run(id);
        for (const p of peers) {
          this.stmts.registerListed.run({ id: p.id, name: p.name, allowed: p.lists === null ? null : JSON.stringify(p.lists), now });
        }
        return forgotten;
      }).immediate(), // it reads before it writes: take the write lock first, or a concurrent commit makes it fail
    );
  }

  /** Count refused handshakes per key, for status; only the MAX_REFUSAL_ROWS most recent keys are kept (an attacker makes keys for free). */
  recordRefusals(refusals: readonly Refusal[]): void {
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

function prepare(db: Db) {
  return lazy({
    upsert: () => db.prepare(
      `INSERT INTO peers (id, name, lists, acked, registered_at, last_seen) VALUES (@id, @name, @lists, @acked, @now, @now)
       ON CONFLICT (id) DO UPDATE SET name = @name, lists = @lists, acked = max(acked, @acked), last_seen = @now`,
    ),
    update: () => db.prepare(
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
    all: () => db.prepare("SELECT * FROM peers ORDER BY name, id"),
    ackedOf: () => db.prepare("SELECT acked FROM peers WHERE id = ?").pluck(),
    trimRefusals: () => db.prepare(
      "DELETE FROM refusals WHERE fingerprint NOT IN (SELECT fingerprint FROM refusals ORDER BY last_seen DESC LIMIT ?)",
    ),
    forget: () => db.prepare("DELETE FROM peers WHERE id = ?"),
    minAcked: () => db.prepare("SELECT min(acked) FROM peers").pluck(),
  });
}
