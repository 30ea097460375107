// verify of a large archive: --records (default 1,000,000) over --lists
// (default 1,000), against an identical archive and one that differs in
// --differ (default 10) records. A real `serve` process; verify runs here
// through the library (what `mq-archive verify` runs). Prints time and
// bytes exchanged for each, and what the ledger and the state's running
// totals cost on disk.
//
//   npm run bench:verify -- [--records 1000000] [--lists 1000] [--differ 10]

import Database from "better-sqlite3";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLogger } from "../lib/log.js";
import { fillArchivedSums } from "../lib/store/archived-sums.js";
import { archiveKey } from "../lib/store/archived.js";
import { Outbox } from "../lib/store/outbox.js";
import { SubscriberState } from "../lib/store/state.js";
import { agrees, verify, type VerifyReport } from "../lib/verify/run.js";
import { BIN } from "./bin.js";

const { values } = parseArgs({
  options: { records: { type: "string", default: "1000000" }, lists: { type: "string", default: "1000" }, differ: { type: "string", default: "10" } },
});
const RECORDS = Number(values.records);
const LISTS = Number(values.lists);
const DIFFER = Number(values.differ);
const dir = mkdtempSync(join(tmpdir(), "mqa-verify-bench-"));
const db = join(dir, "outbox.db");
const statePath = join(dir, "state.db");

const mid = (i: number) => `<${i}@bench.mq-archive>`;
const listOf = (i: number) => `list-${i % LISTS}`;

function build(): string {
  const started = performance.now();
  const outbox = Outbox.open(db);
  const chunk = 20_000;
  for (let i = 0; i < RECORDS; i += chunk) {
    const recs = [];
    for (let j = i; j < Math.min(RECORDS, i + chunk); j++) {
      recs.push({ list: listOf(j), messageId: mid(j), body: Buffer.from(`Message-ID: ${mid(j)}\n\nx\n`) });
    }
    outbox.records.appendMany(recs);
  }
  const id = outbox.id;
  void outbox.close();
  SubscriberState.open(statePath).close();
  const state = new Database(statePath);
  state.pragma("journal_mode = WAL");
  const insert = state.prepare("INSERT INTO archived (list, mid_hash, seq, outbox, archived_at) VALUES (?, ?, ?, ?, 0)");
  state.transaction(() => {
    for (let i = 0; i < RECORDS; i++) insert.run(listOf(i), archiveKey(mid(i)), i + 1, id);
    state.prepare("UPDATE meta SET value = ? WHERE key = 'position'").run(String(RECORDS));
    state.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('outbox_id', ?)").run(id);
  })();
  // The running totals (archived-sums.ts) as the state schema 2 upgrade computes them: what flush would have written.
  const filling = performance.now();
  state.transaction(() => fillArchivedSums(state))();
  const filled = performance.now() - filling;
  state.close();
  process.stdout.write(`built ${RECORDS} records over ${LISTS} lists in ${((performance.now() - started) / 1000).toFixed(1)} s (state totals filled in ${(filled / 1000).toFixed(1)} s)\n`);
  process.stdout.write(`on disk: ${pages(db, ["ledger"])}; ${pages(statePath, ["archived_sums", "archived_lists"])}; ${pages(statePath, ["archived"])}\n`);
  return id;
}

/** The pages of these tables (and their indexes), and per record. */
function pages(path: string, tables: string[]): string {
  const file = new Database(path, { readonly: true });
  try {
    const marks = tables.map(() => "?").join(", ");
    const bytes = file.prepare(`SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN (${marks}) OR name IN (SELECT name FROM sqlite_master WHERE tbl_name IN (${marks}))`).pluck().get(...tables, ...tables) as number;
    return `${tables.join(" + ")} ${(bytes / 1e6).toFixed(2)} MB (${(bytes / RECORDS).toFixed(1)} B/record)`;
  } finally {
    file.close();
  }
}

/** Forget `n` records spread over the archive (as if their entries were lost), and count again without them. */
function damage(n: number): void {
  const state = new Database(statePath);
  const del = state.prepare("DELETE FROM archived WHERE seq = ?");
  state.transaction(() => {
    for (let k = 0; k < n; k++) del.run(1 + Math.floor(((k + 0.5) * RECORDS) / n) + k); // + k: in n different lists
    fillArchivedSums(state);
  })();
  state.close();
}

async function serve(endpoint: string): Promise<() => void> {
  const child = spawn(process.execPath, [BIN, "serve", "--insecure", "--db", db, "--bind", endpoint, "--retain", "1h"], { stdio: ["ignore", "ignore", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let text = "";
    child.stderr.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.includes("publisher listening")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${text}`)));
  });
  return () => child.kill("SIGTERM");
}

function line(what: string, r: VerifyReport): string {
  const missing = r.differences.reduce((n, d) => n + d.missing.length, 0);
  return `${what}: ${r.ms.toFixed(0)} ms (${r.waitedMs} ms of it waiting out BUSY), ${r.bytes.sent} bytes sent + ${r.bytes.received} received, ${r.ranges} ranges, ${missing} missing found, agrees=${agrees(r)}\n`;
}

const endpoint = `tcp://127.0.0.1:${20000 + Math.floor(Math.random() * 20000)}`;
build();
const stop = await serve(endpoint);
try {
  const log = createLogger("warn");
  const options = { connect: endpoint, state: statePath, lists: null, repair: false, sinkSpecs: [], sinks: [], timeoutMs: 60_000, log };
  process.stdout.write(line("identical", await verify(options)));
  process.stdout.write(line("identical (again)", await verify(options)));
  damage(DIFFER);
  process.stdout.write(line(`differs in ${DIFFER}`, await verify(options)));
  process.stdout.write(line(`differs in ${DIFFER} (again)`, await verify(options)));
} finally {
  stop();
  rmSync(dir, { recursive: true, force: true });
}
