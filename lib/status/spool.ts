// What `status --spool` shows of the spool Mailman's plugin writes when it
// cannot commit (lib/ingest/spool.ts has the layout): what waits, how old the
// oldest is, what is being written (and has been for too long), what was
// refused for good. Read from the directory, so it works without `serve`.

import { stat } from "node:fs/promises";
import { join } from "node:path";
import { formatBytes, formatDuration } from "../config/units.js";
import { entries, isSpoolFile, REASON_SUFFIX, SPOOL_EVENTS, SPOOL_LISTS, SPOOL_REJECTED, STALE_TMP_MS } from "../ingest/spool.js";

export interface SpoolStatus {
  path: string;
  /** False when the directory does not exist (nothing was ever spooled there). */
  exists: boolean;
  /** Messages in new/, waiting for an import; the age of the oldest (by its file's time). */
  waiting: { files: number; bytes: number; oldestAgeMs: number | null };
  /** Files in a tmp/ (a writer at work); `stale` ones are older than 36 hours (a writer that died). */
  writing: { files: number; stale: number };
  /** Event files waiting in events/new/. */
  events: number;
  /** Files refused for good, kept in rejected/ with their reasons. */
  rejected: number;
}

export async function readSpoolStatus(dir: string, now = Date.now()): Promise<SpoolStatus> {
  const status: SpoolStatus = {
    path: dir,
    exists: await isDirectory(dir),
    waiting: { files: 0, bytes: 0, oldestAgeMs: null },
    writing: { files: 0, stale: 0 },
    events: 0,
    rejected: 0,
  };
  if (!status.exists) return status;
  let oldest = Infinity;
  const countWriting = async (tmp: string): Promise<void> => {
    for (const file of await filesIn(tmp)) {
      status.writing.files++;
      if (now - file.mtimeMs > STALE_TMP_MS) status.writing.stale++;
    }
  };
  for (const list of await subdirectories(join(dir, SPOOL_LISTS))) {
    for (const file of await filesIn(join(dir, SPOOL_LISTS, list, "new"))) {
      status.waiting.files++;
      status.waiting.bytes += file.size;
      oldest = Math.min(oldest, file.mtimeMs);
    }
    await countWriting(join(dir, SPOOL_LISTS, list, "tmp"));
  }
  await countWriting(join(dir, SPOOL_EVENTS, "tmp"));
  if (oldest !== Infinity) status.waiting.oldestAgeMs = Math.max(0, Math.round(now - oldest));
  status.events = (await entries(join(dir, SPOOL_EVENTS, "new"))).filter(isSpoolFile).length;
  const rejected = join(dir, SPOOL_REJECTED, SPOOL_LISTS);
  const rejectedIn = async (d: string) => (await entries(d)).filter((e) => isSpoolFile(e) && !e.name.endsWith(REASON_SUFFIX)).length;
  for (const list of await subdirectories(rejected)) status.rejected += await rejectedIn(join(rejected, list));
  status.rejected += await rejectedIn(join(dir, SPOOL_REJECTED, SPOOL_EVENTS));
  return status;
}

export function formatSpoolStatus(s: SpoolStatus): string {
  if (!s.exists) return `spool ${s.path}: does not exist (nothing was spooled)\n`;
  const w = s.waiting;
  const lines = [
    `spool ${s.path}`,
    `  waiting: ${w.files} messages (${formatBytes(w.bytes)})${w.oldestAgeMs === null ? "" : `, oldest ${formatDuration(w.oldestAgeMs)} ago`}` +
      `; ${s.events} events`,
    `  being written: ${s.writing.files}${s.writing.stale > 0 ? ` (${s.writing.stale} older than 36h: a writer died? look in lists/*/tmp/ and events/tmp/)` : ""}`,
    `  rejected: ${s.rejected}${s.rejected > 0 ? ` (kept in ${join(s.path, SPOOL_REJECTED)}, each with its .reason)` : ""}`,
  ];
  return `${lines.join("\n")}\n`;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function subdirectories(dir: string): Promise<string[]> {
  return (await entries(dir)).filter((e) => e.isDirectory()).map((e) => e.name);
}

/** Size and time of each file; one that vanished meanwhile (imported) is left out. */
async function filesIn(dir: string): Promise<Array<{ size: number; mtimeMs: number }>> {
  const out: Array<{ size: number; mtimeMs: number }> = [];
  for (const e of (await entries(dir)).filter(isSpoolFile)) {
    try {
      const s = await stat(join(dir, e.name));
      out.push({ size: s.size, mtimeMs: s.mtimeMs });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return out;
}
