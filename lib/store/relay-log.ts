// An outbox as a relay keeps it: the records an archive host stored,
// written by its `outbox:PATH` sink under the ORIGIN's identity, so that
// `serve --db PATH` over it speaks of the same records as the origin: the
// origin's outbox id and the origin's seqs (with gaps where the relay
// carries fewer lists). A peer's position then means the same at the origin
// and at every relay of it, and a peer can move between them.
//
// The role is in the outbox's meta, `relay_of`: absent for an origin (the
// outbox beside Mailman), "pending" for a relay that has stored nothing yet
// (its origin is learnt with the first record), else the origin's id, which
// is then also the outbox's own `outbox_id`.

import { OutboxError } from "../errors.js";
import type { RecordKind } from "../message/record.js";
import type { Ledger } from "./ledger.js";
import { wakeServe } from "./record-log.js";
import { lazy, type Db, type Guard } from "./sqlite.js";

export const PENDING = "pending";

/** Who an outbox says it is, to a peer's hello. */
export interface OutboxIdentity {
  /** The id peers follow; null: a relay that has not learnt its origin's yet. */
  id: string | null;
  /**
   * A relay's floor: it does not hold the records at or below this seq
   * (from before it started relaying, or pruned). null for an origin.
   */
  relayFloor: number | null;
}

/** A record as the relay received it from upstream. */
export interface RelayedRecord {
  outbox: string;
  seq: number;
  kind: RecordKind;
  list: string;
  messageId: string;
  receivedAt: number;
  body: Buffer;
}

export class RelayLog {
  private readonly stmts;

  constructor(
    private readonly path: string,
    private readonly db: Db,
    private readonly guard: Guard,
    private readonly ledger: Ledger,
  ) {
    this.stmts = prepare(db);
  }

  /** null for an origin outbox; PENDING for a relay that has not stored a record yet; else the origin's id. */
  role(): string | null {
    return this.guard(() => (this.stmts.getMeta.get("relay_of") as string | undefined) ?? null);
  }

  /** Records at or below this seq are not held here: the relay started after them, or pruned them. */
  floor(): number {
    return this.guard(() => Number((this.stmts.getMeta.get("relay_floor") as string | undefined) ?? "0"));
  }

  /**
   * The relay's first records come after `position`: it holds nothing at or
   * below it (its floor), and its ledger knows records from the next seq on
   * (so `verify` against this relay compares nothing before it).
   */
  begin(position: number): void {
    this.guard(() =>
      this.db.transaction(() => {
        this.stmts.raiseFloor.run(String(position));
        this.stmts.setMeta.run("ledger_since", String(position + 1));
      }).immediate(),
    );
  }

  /** Raise the floor (never lowered): the relay starts at `seq`, or pruned up to it. */
  raiseFloor(seq: number): void {
    this.guard(() => this.stmts.raiseFloor.run(String(seq)));
  }

  /**
   * Make this outbox a relay of `origin` (null: not known yet). An outbox
   * holding records of its own (Mailman's) is refused, and so is a relay
   * of another origin.
   */
  claim(origin: string | null): void {
    this.guard(() => this.db.transaction(() => this.claimIn(origin)).immediate());
  }

  private claimIn(origin: string | null): void {
    const role = (this.stmts.getMeta.get("relay_of") as string | undefined) ?? null;
    if (role === null) {
      if ((this.stmts.head.get() as number | undefined) !== undefined) {
        throw new OutboxError(
          "OUTBOX_UNUSABLE",
          `${this.path} holds records of its own (an origin outbox, Mailman's?): a relay needs an outbox file of its own; give the outbox sink a new path`,
        );
      }
    } else if (role !== PENDING) {
      if (origin === null || origin === role) return;
      throw new OutboxError(
        "OUTBOX_UNUSABLE",
        `${this.path} relays outbox ${role}, but records now come from outbox ${origin} (replaced upstream?): ` +
          "relay the new outbox into a new file (a new outbox:PATH), and point serve --db at it",
      );
    }
    this.stmts.setMeta.run("relay_of", origin ?? PENDING);
    if (origin !== null) this.stmts.setMeta.run("outbox_id", origin);
  }

  /**
   * Store records under their origin seqs, in one transaction (durable when
   * it returns). A seq at or below the head is one the relay handled before
   * (a replay; stored, or stored and pruned already), and a Message-ID the
   * list already holds under an older seq is the origin's republished copy:
   * both are skipped. Returns how many were new.
   */
  append(records: readonly RelayedRecord[]): number {
    if (records.length === 0) return 0;
    const added = this.guard(() =>
      this.db
        .transaction(() => {
          this.claimIn(records[0]!.outbox);
          let head = (this.stmts.head.get() as number | undefined) ?? 0;
          let count = 0;
          let events = 0;
          let bytes = 0;
          this.ledger.batch(() => {
            for (const r of records) {
              if (r.outbox !== records[0]!.outbox) this.claimIn(r.outbox); // throws: one origin per relay
              if (r.seq <= head) continue;
              head = r.seq;
              if (this.stmts.findByMessageId.get(r.list, r.messageId) !== undefined) continue;
              this.stmts.insert.run(r.seq, r.kind, r.list, r.messageId, r.receivedAt, r.body.length, r.body);
              this.ledger.record(r.list, r.seq, r.messageId);
              count++;
              if (r.kind === "event") events++;
              bytes += r.body.length;
            }
          });
          // The head is the last seq handled, also when its record was skipped: a peer may stand there.
          if (this.stmts.raiseHead.run(head).changes === 0) this.stmts.startHead.run(head);
          if (count > 0) this.stmts.addTotals.run(count, events, bytes);
          return count;
        })
        .immediate(),
    );
    wakeServe(this.path);
    return added;
  }
}

function prepare(db: Db) {
  return lazy({
    getMeta: () => db.prepare("SELECT value FROM meta WHERE key = ?").pluck(),
    setMeta: () => db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    head: () => db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'records'").pluck(),
    findByMessageId: () => db.prepare("SELECT seq FROM records WHERE list = ? AND message_id = ?").pluck(),
    insert: () => db.prepare("INSERT INTO records (seq, kind, list, message_id, received_at, size, body) VALUES (?, ?, ?, ?, ?, ?, ?)"),
    // sqlite_sequence has the row once a record was ever inserted; a relay whose records so far were all skipped has none yet.
    raiseHead: () => db.prepare("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'records'"),
    startHead: () => db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('records', ?)"),
    raiseFloor: () =>
      db.prepare(
        "INSERT INTO meta (key, value) VALUES ('relay_floor', ?) ON CONFLICT (key) DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
      ),
    addTotals: () => db.prepare("UPDATE record_totals SET count = count + ?, events = events + ?, bytes = bytes + ? WHERE id = 0"),
  });
}
