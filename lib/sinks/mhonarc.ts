// mhonarc:DIR — each list's messages in the MHonArc archive DIR/<list>,
// added by the real program (`mhonarc -outdir DIR/<list> -add`, see
// mhonarc-run.ts). List events pass by (storeKind), as stored.
//
// Stored means MHonArc's database holds the message: after every run, exit 0
// or not, one perl run reads DIR/<list>/.mhonarc.db and confirms each
// message of the batch by the Message-ID mhonarc gives it (mhonarc-db.ts);
// then the database, the new pages and the directory are fsync'd (mhonarc
// itself never fsyncs). mhonarc skips a Message-ID it already has, so a
// redelivered record is confirmed without a second entry.
//
// A message that is not confirmed fails as its run did:
// - exit 75 (the archive locked, DIR/<list>/.mhonarc.lck) or an exit status
//   that is a system error a person can fix (disk full, read-only,
//   permissions): temporary, retried in order for as long as it takes;
// - exit 0 yet not in the database: mhonarc declined it (X-No-Archive with
//   CHECKNOARCHIVE, a MSGEXCFILTER, an expiry date), or a SIGTERM from
//   outside stopped it before it wrote its database. Permanent: the
//   deliverer retries it a few times (an interrupted run passes the next
//   time), then sets it aside as a dead letter, where a message mhonarc
//   always declines belongs instead of stalling its list for ever;
// - any other status, a signal, our timeout: permanent. A run of several
//   messages that fails so does not say which one is at fault: the rest of
//   that batch is then run one message at a time.
//
// Lists are separate archives: each is run in turn, and a failure in one
// reports the records before the first record not stored, over all lists.

import { mkdtemp, open, readdir, rm, writeFile } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { join, resolve } from "node:path";
import { SinkError } from "../errors.js";
import { ensureDirectory, OWNER_ONLY, prepareSinkDirectory, syncDirectory, type Modes } from "./fs-util.js";
import { checkInstall, confirmStored, type MhonarcInstall } from "./mhonarc-db.js";
import { findMhonarc } from "./mhonarc-install.js";
import { LOCK_DIR, runMhonarc, type RunOutcome } from "./mhonarc-run.js";
import { removeLocksFromBeforeBoot } from "./mhonarc-locks.js";
import { fsError, storeKind, type Sink, type SinkContext, type SinkRecord } from "./sink.js";

export interface MhonarcOptions {
  /** Stop a mhonarc run after this long (ms), a failed attempt; 0: no limit. */
  mhonarcTimeoutMs?: number;
  /** After that SIGTERM, wait this long (ms) before SIGKILL. */
  mhonarcTermGraceMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_TERM_GRACE_MS = 10_000;
/** Messages per mhonarc run: bounds one run's time (and what a timeout throws away). */
const MAX_RUN = 250;
/** Scratch folders for the batches, inside DIR (no list name starts with a dot). */
const SCRATCH_PREFIX = ".mq-batch-";
/**
 * Exit statuses that are a system error number a person can fix: mhonarc
 * exits with $! when it dies. Not ENOENT or the like: a stale $! left by an
 * earlier harmless failure would turn a message's own fault into a retry
 * for ever.
 */
const TRANSIENT_ERRNO = new Map<number, string>(
  (["ENOSPC", "EDQUOT", "EROFS", "EIO", "EACCES", "ENOMEM", "EMFILE", "ENFILE"] as const)
    .map((name) => [osConstants.errno[name], name] as [number, string])
    .filter(([n]) => n !== undefined),
);
const EX_TEMPFAIL = 75;

interface Failure {
  /** Position in the records given. */
  at: number;
  transient: boolean;
  message: string;
}

export class MhonarcSink implements Sink {
  readonly name: string;
  private install: MhonarcInstall | null = null;
  private modes: Modes = OWNER_ONLY;

  private readonly dir: string;

  constructor(
    dir: string,
    private readonly options: MhonarcOptions = {},
  ) {
    // Absolute: perl's `do FILE` searches @INC for a relative name, and mhonarc wants -outdir absolute.
    this.dir = resolve(dir);
    this.name = `mhonarc:${this.dir}`;
  }

  async start(context: SinkContext): Promise<void> {
    const install = await findMhonarc();
    await checkInstall(install);
    try {
      this.modes = await prepareSinkDirectory(this.dir);
      for (const name of await readdir(this.dir)) {
        if (name.startsWith(SCRATCH_PREFIX)) await rm(join(this.dir, name), { recursive: true, force: true });
      }
      for (const lock of await removeLocksFromBeforeBoot(this.dir, LOCK_DIR)) {
        context.log.warn({ lock }, "mhonarc: removed a lock left from before the last boot (no process can still hold it)");
      }
    } catch (err) {
      throw fsError(err, `cannot prepare MHonArc directory ${this.dir}`);
    }
    this.install = install;
  }

  async store(records: readonly SinkRecord[]): Promise<void> {
    await storeKind("message", records, (messages) => this.storeMessages(messages));
  }

  async close(): Promise<void> {}

  private async storeMessages(records: readonly SinkRecord[]): Promise<void> {
    let failure: Failure | null = null;
    for (const [list, positions] of byList(records)) {
      // Records past an earlier failure come again anyway: do not run them now.
      const limit = failure?.at ?? records.length;
      const todo: number[] = positions.filter((p) => p < limit);
      for (let i = 0; i < todo.length; i += MAX_RUN) {
        const chunk: number[] = todo.slice(i, i + MAX_RUN);
        const f = await this.storeChunk(list, chunk.map((p) => records[p]!));
        if (f === null) continue;
        const at: number = chunk[f.at]!;
        if (failure === null || at < failure.at) failure = { ...f, at };
        break;
      }
    }
    if (failure !== null) throw new SinkError(failure.message, { transient: failure.transient, stored: failure.at });
  }

  /** Run mhonarc over `records` (one list, in order) and confirm; the first record not stored, or null. */
  private async storeChunk(list: string, records: readonly SinkRecord[]): Promise<Failure | null> {
    const install = this.install;
    if (install === null) throw new SinkError(`${this.name} was not started`, { transient: false });
    const outdir = join(this.dir, list);
    const db = join(outdir, ".mhonarc.db");
    let folder: string | null = null;
    try {
      try {
        await ensureDirectory(outdir, this.modes.directory);
        folder = await this.writeFolder(records);
      } catch (err) {
        throw fsError(err, `cannot prepare messages for ${outdir}`);
      }
      const run = await runMhonarc(outdir, folder, {
        program: install.program,
        timeoutMs: this.options.mhonarcTimeoutMs ?? DEFAULT_TIMEOUT_MS,
        termGraceMs: this.options.mhonarcTermGraceMs ?? DEFAULT_TERM_GRACE_MS,
      });
      const confirmed = await confirmStored(install, db, folder, records.length);
      await this.sync(outdir, db, confirmed.pages);
      const first = confirmed.found.indexOf(false);
      if (first < 0) return null;
      if (records.length > 1 && !run.spawnError && !isTemporary(run) && (run.code !== 0 || run.timedOut)) {
        return await this.oneByOne(list, records, first);
      }
      return { at: first, ...describe(run, outdir, confirmed.ids[first]!, this.options.mhonarcTimeoutMs ?? DEFAULT_TIMEOUT_MS) };
    } finally {
      if (folder !== null) await rm(folder, { recursive: true, force: true });
    }
  }

  /** A failed run of several messages: find the one at fault, running the rest alone. */
  private async oneByOne(list: string, records: readonly SinkRecord[], from: number): Promise<Failure | null> {
    for (let i = from; i < records.length; i++) {
      const f = await this.storeChunk(list, [records[i]!]);
      if (f !== null) return { ...f, at: i };
    }
    return null;
  }

  /** The batch as an MH folder: files 1..n, each a message's bytes as published. */
  private async writeFolder(records: readonly SinkRecord[]): Promise<string> {
    const folder = await mkdtemp(join(this.dir, SCRATCH_PREFIX));
    for (let i = 0; i < records.length; i++) {
      await writeFile(join(folder, String(i + 1)), records[i]!.body, { mode: OWNER_ONLY.file });
    }
    return folder;
  }

  /** Make what mhonarc wrote durable before it is acknowledged: the confirmed pages, the database, the directory. */
  private async sync(outdir: string, db: string, pages: readonly string[]): Promise<void> {
    try {
      for (const page of new Set(pages.filter((p) => p !== ""))) await syncFile(join(outdir, page));
      await syncFile(db);
      await syncDirectory(outdir);
    } catch (err) {
      throw fsError(err, `cannot sync the MHonArc archive ${outdir}`);
    }
  }
}

/** Positions of the records of each list, in order, lists in order of first appearance. */
function byList(records: readonly SinkRecord[]): Map<string, number[]> {
  const lists = new Map<string, number[]>();
  records.forEach((r, i) => {
    const positions = lists.get(r.list);
    if (positions === undefined) lists.set(r.list, [i]);
    else positions.push(i);
  });
  return lists;
}

function isTemporary(run: RunOutcome): boolean {
  return run.code === EX_TEMPFAIL || (run.code !== null && TRANSIENT_ERRNO.has(run.code));
}

/** Why a message is not in the archive after `run`, and whether trying again can help. */
function describe(run: RunOutcome, outdir: string, id: string, timeoutMs: number): Omit<Failure, "at"> {
  const detail = run.stderr.trim() === "" ? "" : `: ${run.stderr.trim()}`;
  const what = `<${id}> is not in ${outdir}`;
  if (run.spawnError) return { transient: true, message: `${what}: cannot run mhonarc: ${run.spawnError.message}` };
  if (run.timedOut) {
    const lock =
      run.lockRemoved === true ? ", then SIGKILL; the lock it held was removed" : run.lockRemoved === false ? `, then SIGKILL; its lock ${join(outdir, LOCK_DIR)} could not be removed` : run.killed ? ", then SIGKILL" : "";
    return { transient: false, message: `${what}: mhonarc ran longer than ${timeoutMs} ms and was stopped (SIGTERM${lock})${detail}` };
  }
  if (run.code === EX_TEMPFAIL) {
    return {
      transient: true,
      message: `${what} yet: the archive is locked (${join(outdir, LOCK_DIR)} exists: another mhonarc is running, or one died and left it; remove it if none runs)${detail}`,
    };
  }
  if (run.code !== null && TRANSIENT_ERRNO.has(run.code)) {
    return { transient: true, message: `${what}: mhonarc exit ${run.code} (${TRANSIENT_ERRNO.get(run.code)})${detail}` };
  }
  if (run.code === 0) {
    return {
      transient: false,
      message: `${what}: mhonarc exited 0 without storing it (it declines messages marked X-No-Archive when CHECKNOARCHIVE is set, those a MSGEXCFILTER excludes or older than EXPIREDATE/EXPIREAGE; or a SIGTERM stopped it)${detail}`,
    };
  }
  return { transient: false, message: `${what}: mhonarc ${run.signal === null ? `exit ${run.code}` : `killed by ${run.signal}`}${detail}` };
}

async function syncFile(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return; // no database yet: nothing stored
    throw err;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

