// The subscriber state file's schema. Told apart from an outbox or a
// foreign database by its application_id (see sqlite.ts ensureSchema).

import { randomUUID } from "node:crypto";
import { ARCHIVED_SUMS_SCHEMA, fillArchivedSums } from "./archived-sums.js";
import type { Db } from "./sqlite.js";

export const STATE_SCHEMA_VERSION = 2;
export const STATE_KIND = { applicationId: 0x4d51_5354, name: "subscriber state file" }; // "MQST"

export function migrate(db: Db, from: number): void {
  if (from < 1) createV1(db);
  if (from < 2) migrateTo2(db);
}

/**
 * Running totals of the archived entries (archived-sums.ts), so verify
 * sums a range in two seeks instead of loading every entry. The upgrade
 * computes them once from the archived table.
 */
function migrateTo2(db: Db): void {
  db.exec(ARCHIVED_SUMS_SCHEMA);
  fillArchivedSums(db);
}

function createV1(db: Db): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS archived (
      list TEXT NOT NULL,
      mid_hash BLOB NOT NULL,
      seq INTEGER NOT NULL,
      outbox TEXT NOT NULL,
      archived_at INTEGER NOT NULL,
      PRIMARY KEY (list, mid_hash)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS journal (sink TEXT PRIMARY KEY, data TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS dead_letters (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      sink TEXT NOT NULL,
      outbox TEXT NOT NULL,
      seq INTEGER NOT NULL,
      kind TEXT NOT NULL,
      list TEXT NOT NULL,
      message_id TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      body BLOB NOT NULL,
      error TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      failed_at INTEGER NOT NULL,
      status TEXT NOT NULL DEFAULT 'dead'
    );
  `);
  db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('peer_id', ?), ('position', '0')").run(randomUUID());
}
