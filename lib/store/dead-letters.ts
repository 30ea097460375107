// A subscriber's dead letters: records a sink failed for good, kept in its
// state file with the error until an operator asks for another attempt.
// The state (state.ts) runs these statements inside its guard, and adds
// and removes dead letters inside its own commits.

import type { BodyRecord, RecordKind } from "../message/record.js";
import { lazy, type Db } from "./sqlite.js";

export interface DeadLetterInput extends BodyRecord {
  sink: string;
  error: string;
  attempts: number;
}

export type DeadLetterStatus = "dead" | "retry";

export interface DeadLetter extends DeadLetterInput {
  id: number;
  outbox: string;
  failedAt: number;
  status: DeadLetterStatus;
}

export class DeadLetters {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = prepare(db);
  }

  /** Inside the caller's commit. */
  add(d: DeadLetterInput, outbox: string, now: number): void {
    this.stmts.insert.run(d.sink, outbox, d.seq, d.kind, d.list, d.messageId, d.receivedAt, d.body, d.error, d.attempts, now);
  }

  /** Mark dead letters for another attempt (`all`, or one id). Returns how many were marked. */
  requestRetry(which: number | "all"): number {
    return which === "all" ? this.stmts.retryAll.run().changes : this.stmts.retryOne.run(which).changes;
  }

  /** Dead letters an operator asked to retry. */
  pending(): DeadLetter[] {
    return (this.stmts.pending.all() as DeadLetterRow[]).map(toDeadLetter);
  }

  /** Inside the caller's commit: a retried dead letter was stored. */
  remove(id: number): void {
    this.stmts.remove.run(id);
  }

  /** A retry failed again: back to the dead, one attempt more. */
  failedRetry(id: number, error: string, now: number): void {
    this.stmts.failedRetry.run(error, now, id);
  }

  count(): number {
    return this.stmts.count.get() as number;
  }

  all(): DeadLetter[] {
    return (this.stmts.all.all() as DeadLetterRow[]).map(toDeadLetter);
  }
}

type DeadLetterRow = {
  id: number;
  sink: string;
  outbox: string;
  seq: number;
  kind: RecordKind;
  list: string;
  message_id: string;
  received_at: number;
  body: Buffer;
  error: string;
  attempts: number;
  failed_at: number;
  status: DeadLetterStatus;
};

function toDeadLetter(r: DeadLetterRow): DeadLetter {
  return {
    id: r.id,
    sink: r.sink,
    outbox: r.outbox,
    seq: r.seq,
    kind: r.kind,
    list: r.list,
    messageId: r.message_id,
    receivedAt: r.received_at,
    body: r.body,
    error: r.error,
    attempts: r.attempts,
    failedAt: r.failed_at,
    status: r.status,
  };
}

function prepare(db: Db) {
  return lazy({
    insert: () => db.prepare(
      `INSERT INTO dead_letters (sink, outbox, seq, kind, list, message_id, received_at, body, error, attempts, failed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    all: () => db.prepare("SELECT * FROM dead_letters ORDER BY id"),
    retryAll: () => db.prepare("UPDATE dead_letters SET status = 'retry' WHERE status = 'dead'"),
    retryOne: () => db.prepare("UPDATE dead_letters SET status = 'retry' WHERE id = ?"),
    pending: () => db.prepare("SELECT * FROM dead_letters WHERE status = 'retry' ORDER BY id"),
    remove: () => db.prepare("DELETE FROM dead_letters WHERE id = ?"),
    failedRetry: () => db.prepare("UPDATE dead_letters SET status = 'dead', attempts = attempts + 1, error = ?, failed_at = ? WHERE id = ?"),
    count: () => db.prepare("SELECT count(*) FROM dead_letters").pluck(),
  });
}
