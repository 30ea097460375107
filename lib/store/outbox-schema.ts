// The outbox's schema and its migrations, version by version. A file of
// another application, or an older or newer mq-archive, is told apart by
// its application_id and user_version (see sqlite.ts ensureSchema).

import { Ledger, LEDGER_SCHEMA } from "./ledger.js";
import type { Db } from "./sqlite.js";

export const OUTBOX_SCHEMA_VERSION = 6;
/** From this version the outbox keeps running totals of its records (record_totals) and a lag index. */
export const TOTALS_SINCE_VERSION = 4;
export const OUTBOX_KIND = { applicationId: 0x4d51_4f42, name: "outbox" }; // "MQOB"

export function migrate(db: Db, from: number): void {
  if (from < 1) createV1(db);
  if (from < 2) {
    db.exec(`
      ALTER TABLE peers ADD COLUMN allowed TEXT;
      CREATE TABLE IF NOT EXISTS refusals (
        fingerprint TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        address TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
      );
    `);
  }
  if (from < 3) migrateTo3(db);
  if (from < 4) migrateTo4(db);
  if (from < 5) migrateTo5(db);
  if (from === 5) migrateTo6(db); // a ledger built by migrateTo5 has its totals already
}

/**
 * The ledger's running totals (ledger.ts): a range's sum in two seeks
 * instead of a read of every row in it. The upgrade fills them once, by
 * window sums (ALTER TABLE ADD COLUMN works on a WITHOUT ROWID table).
 */
function migrateTo6(db: Db): void {
  Ledger.addTotals(db);
}

/**
 * The ledger (ledger.ts): a row per record ever committed, kept after
 * pruning. The upgrade builds it from the records the outbox still holds;
 * records pruned before it are not in it: `ledger_since` in meta is the
 * first seq it knows of, and verify compares nothing below it.
 */
function migrateTo5(db: Db): void {
  db.exec(LEDGER_SCHEMA);
  Ledger.buildFrom(db);
}

/**
 * What `serve`'s metrics and `status` read on every look: running totals
 * (count, events, bytes: O(1) instead of a scan of every row, which with
 * 10 KB bodies read ~4 KB per row and held serve's event loop ~40 ms per
 * look at 20,000 records), and an index that answers a peer's lag (seq,
 * list, size, time) without reading the rows' pages. The record log keeps
 * the totals in each write transaction, one UPDATE per transaction
 * (triggers, one UPDATE per row, cost a bulk import ~30 µs per record).
 * The upgrade counts an existing outbox once.
 */
function migrateTo4(db: Db): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS record_totals (
      id INTEGER PRIMARY KEY CHECK (id = 0),
      count INTEGER NOT NULL,
      events INTEGER NOT NULL,
      bytes INTEGER NOT NULL
    );
    INSERT OR REPLACE INTO record_totals (id, count, events, bytes)
      SELECT 0, count(*), coalesce(sum(kind = 'event'), 0), coalesce(sum(size), 0) FROM records;
    CREATE INDEX IF NOT EXISTS records_lag ON records (seq, list, size, received_at);
  `);
}

function migrateTo3(db: Db): void {
  db.exec("ALTER TABLE peers ADD COLUMN dead_letters INTEGER NOT NULL DEFAULT 0");
}

function createV1(db: Db): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS records (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL,
      list TEXT NOT NULL,
      message_id TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      size INTEGER NOT NULL,
      body BLOB NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS records_message ON records (list, message_id);
    CREATE TABLE IF NOT EXISTS peers (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      lists TEXT,
      acked INTEGER NOT NULL DEFAULT 0,
      acked_at INTEGER,
      registered_at INTEGER NOT NULL,
      last_seen INTEGER
    );
  `);
  db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('outbox_id', ?), ('created_at', ?)").run(
    globalThis.crypto.randomUUID(), // the global, so node:crypto is not loaded by every `publish`
    String(Date.now()),
  );
}
