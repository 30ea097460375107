// Reads of an outbox file that tests need and the store does not offer, in
// SQL on a connection of their own (read-only: they never change the file).

import Database from "better-sqlite3";

export interface Retention {
  /** The oldest retained seq (0 if none). */
  first: number;
  /** The last seq ever assigned. */
  head: number;
  /** The lowest ack of any registered peer (null: none). */
  minAcked: number | null;
}

/** Retention in one read transaction, so the three agree. */
export function readRetention(path: string): Retention {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 30000");
    const one = (sql: string) => db.prepare(sql).pluck().get() as number | null;
    return db.transaction(() => ({
      first: one("SELECT min(seq) FROM records") ?? 0,
      head: one("SELECT seq FROM sqlite_sequence WHERE name = 'records'") ?? 0,
      minAcked: one("SELECT min(acked) FROM peers"),
    }))();
  } finally {
    db.close();
  }
}
