// One mhonarc run: `mhonarc -outdir DIR -add FOLDER`, FOLDER an MH folder
// of the batch's messages (files 1..n, read in that order). One run for a
// batch, not one per message: measured here, 20 messages took 0.42 s in one
// run and 5.3 s in twenty (each run loads the database and rewrites the
// index pages).
//
// A hung run is stopped with SIGTERM, which mhonarc handles: it removes its
// lock and exits 0 without writing its database (what it stored is then
// confirmed, as after every run). Only if it is still there after a grace
// period does it get SIGKILL, which leaves the lock directory behind; we
// remove that only when the run held the lock: mhonarc prints "Reading
// database" or "Adding message(s)" only after taking it, so a run killed
// while waiting for someone else's lock never removes theirs.

import { spawn } from "node:child_process";
import { rmdir } from "node:fs/promises";
import { join } from "node:path";

export const LOCK_DIR = ".mhonarc.lck";
/** Short lock retries (mhonarc's default is 10 × 3 s): a locked archive soon exits 75 and the deliverer backs off. */
const LOCK_TRIES = 3;
const LOCK_DELAY_S = 1;
const STDERR_LIMIT = 2048;
/** What mhonarc prints once it holds the lock (mhopt.pl, mhamain.pl). */
const HOLDS_LOCK = /(^|\n)(Reading database|Adding messages? to|Converting messages to)/;
/** Settings that would move the database or the lock, or change which files of FOLDER are read: ours are fixed. */
const FIXED_ENV = ["M2H_OUTDIR", "M2H_DBFILE", "M2H_LOCKFILE", "M2H_MHPATTERN", "M2H_LOCKTRIES", "M2H_LOCKDELAY"];

export interface RunOptions {
  program: string;
  /** Stop the run after this long (ms); 0: no limit. */
  timeoutMs: number;
  /** After SIGTERM, wait this long (ms) before SIGKILL. */
  termGraceMs: number;
}

export interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Could not start (ENOENT, EAGAIN...). */
  spawnError: Error | null;
  /** Stopped by our timeout. */
  timedOut: boolean;
  /** Needed SIGKILL after SIGTERM. */
  killed: boolean;
  /** After SIGKILL: whether the lock it held was removed (null: it held none, or none was left). */
  lockRemoved: boolean | null;
  /** The end of its stderr (errors come last, after the warnings). */
  stderr: string;
}

export function runMhonarc(outdir: string, folder: string, o: RunOptions): Promise<RunOutcome> {
  const args = ["-outdir", outdir, "-add", "-locktries", String(LOCK_TRIES), "-lockdelay", String(LOCK_DELAY_S)];
  // The pattern is mhonarc's default, but an archive's saved resources may hold another one.
  args.push("-mhpattern", "^\\d+$", folder);
  const env = { ...process.env };
  for (const name of FIXED_ENV) delete env[name];
  const outcome: RunOutcome = { code: null, signal: null, spawnError: null, timedOut: false, killed: false, lockRemoved: null, stderr: "" };
  return new Promise((resolve) => {
    let child;
    try {
      // Its own process group: a terminal's Ctrl-C reaches the subscriber, which finishes the run, not mhonarc.
      child = spawn(o.program, args, { detached: true, stdio: ["ignore", "pipe", "pipe"], env });
    } catch (err) {
      resolve({ ...outcome, spawnError: err as Error });
      return;
    }
    let stdoutTail = "";
    let holdsLock = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (holdsLock) return;
      stdoutTail = (stdoutTail + chunk.toString("latin1")).slice(-256);
      holdsLock = HOLDS_LOCK.test(stdoutTail);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      outcome.stderr = (outcome.stderr + chunk.toString("utf8")).slice(-STDERR_LIMIT);
    });
    const timers: NodeJS.Timeout[] = [];
    if (o.timeoutMs > 0) {
      timers.push(
        setTimeout(() => {
          outcome.timedOut = true;
          signalGroup(child.pid, "SIGTERM");
          timers.push(
            setTimeout(() => {
              outcome.killed = true;
              signalGroup(child.pid, "SIGKILL");
            }, o.termGraceMs),
          );
        }, o.timeoutMs),
      );
    }
    child.on("error", (err) => {
      for (const t of timers) clearTimeout(t);
      resolve({ ...outcome, spawnError: err });
    });
    child.on("exit", (code, signal) => {
      for (const t of timers) clearTimeout(t);
      outcome.code = code;
      outcome.signal = signal;
      child.stdout.destroy();
      child.stderr.destroy();
      if (!outcome.killed || !holdsLock) return resolve(outcome);
      void removeLock(join(outdir, LOCK_DIR)).then((removed) => resolve({ ...outcome, lockRemoved: removed }));
    });
  });
}

/** The lock a killed run held: an empty directory (rmdir refuses anything else). */
async function removeLock(lock: string): Promise<boolean | null> {
  try {
    await rmdir(lock);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "ENOENT" ? null : false;
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}
