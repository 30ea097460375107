// serve's part that empties the spool (issue 14, lib/ingest/spool.ts has
// the layout): it watches the spool's directories (inotify, with a poll
// behind it), imports what waits in small batches through a connection of
// its own that fsyncs every commit (serve's own does not), and while the
// outbox cannot take them (locked, full, unusable) leaves the files where
// they are and tries again with a backoff doubling up to 30 s. It logs once
// when it starts draining and once when drained; a bad file is rejected or
// reported, never the end of serve.

import { watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { ConfigError, errorMessage, isOutboxBusy, OutboxError } from "../errors.js";
import {
  emptySpoolSummary,
  importSpool,
  prepareSpool,
  scanSpool,
  SPOOL_EVENTS,
  SPOOL_LISTS,
  type SpoolEntry,
  type SpoolSummary,
} from "../ingest/spool.js";
import type { Logger } from "../log.js";
import type { Modes } from "../sinks/fs-util.js";
import { readSpoolStatus } from "../status/spool.js";
import { Outbox } from "../store/outbox.js";

export interface SpoolOptions {
  dir: string;
  /** Largest message accepted (publish's --max-size); a larger one is rejected. */
  maxSize: number;
  /** How often to look without a watch event (default 2 s). */
  pollMs?: number;
  /** Longest wait between attempts while the outbox cannot take messages (default 30 s). */
  retryMaxMs?: number;
}

/** At most this many list directories are watched; beyond, the poll finds their files. */
const MAX_WATCHED_LISTS = 1000;
const FIRST_RETRY_MS = 100;
/** A busy outbox (a `publish` committing) is normal: it is worth a warning only once it lasts. */
const BUSY_WARN_AFTER_MS = 1000;
const HOUR_MS = 3_600_000;

/** Start draining `options.dir` into the outbox at `outboxPath`. */
export async function startSpoolDrain(options: SpoolOptions, outboxPath: string, log: Logger): Promise<SpoolDrain> {
  const drain = new SpoolDrain(options, outboxPath, log);
  await drain.start();
  return drain;
}

export class SpoolDrain {
  private modes: Modes = { file: 0o600, directory: 0o700 };
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly timers: NodeJS.Timeout[] = [];
  private retry: NodeJS.Timeout | null = null;
  private delayMs = 0;
  /** When the current run of failed attempts began (0: the last one succeeded). */
  private troubleSince = 0;
  private troubleLogged = false;
  private running: Promise<void> | null = null;
  private again = false;
  private closing = false;
  /** Counts since the drain started (null: the spool was empty when last looked at). */
  private episode: (SpoolSummary & { startedAt: number }) | null = null;
  /** Files that could not be imported, reported once each. */
  private stuck = new Set<string>();

  constructor(
    private readonly options: SpoolOptions,
    private readonly outboxPath: string,
    private readonly log: Logger,
  ) {}

  /** Since when (ms) imports have failed, or null when the last one worked. */
  get failingSince(): number | null {
    return this.troubleSince === 0 ? null : this.troubleSince;
  }

  async start(): Promise<void> {
    try {
      this.modes = await prepareSpool(this.options.dir);
    } catch (err) {
      throw new ConfigError(`cannot use the spool directory ${this.options.dir}: ${errorMessage(err)}`, { cause: err });
    }
    this.watchDir(join(this.options.dir, SPOOL_LISTS));
    this.watchDir(join(this.options.dir, SPOOL_EVENTS, "new"));
    const poll = setInterval(() => this.wake(), this.options.pollMs ?? 2000);
    const report = setInterval(() => void this.reportLeftovers(), HOUR_MS);
    for (const t of [poll, report]) t.unref();
    this.timers.push(poll, report);
    this.log.info({ dir: this.options.dir }, "spool: watching");
    void this.reportLeftovers();
    this.wake();
  }

  /** Look at the spool soon (coalesced; not while backing off, the retry will). */
  wake(): void {
    if (this.closing || this.retry !== null) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async pass(): Promise<void> {
    try {
      await this.drain();
      if (this.troubleLogged) this.log.info("spool: the outbox takes messages again");
      this.troubleLogged = false;
      this.delayMs = 0;
      this.troubleSince = 0;
    } catch (err) {
      this.backOff(err);
    }
  }

  /** Import until a look at the spool finds nothing new; each file is tried once per pass. */
  private async drain(): Promise<void> {
    const tried = new Set<string>();
    let outbox: Outbox | null = null;
    try {
      for (;;) {
        const { lists, files } = await scanSpool(this.options.dir);
        for (const list of lists) this.watchDir(join(this.options.dir, SPOOL_LISTS, list, "new"));
        const todo = files.filter((f) => !tried.has(f.path));
        if (todo.length === 0 || this.closing) {
          this.stuck = new Set(files.filter((f) => this.stuck.has(f.path)).map((f) => f.path));
          if (!this.closing) this.finishEpisode(files.length);
          return;
        }
        const fresh = todo.filter((f) => !this.stuck.has(f.path)).length;
        if (fresh > 0) this.beginEpisode(fresh);
        for (const f of todo) tried.add(f.path);
        // Publish's durability: every commit fsync'd before a file goes. Never waits for a lock: busy is retried here.
        outbox ??= Outbox.open(this.outboxPath, { durability: "full", busyTimeoutMs: 0 });
        await importSpool(outbox.records, this.options.dir, todo, {
          maxSize: this.options.maxSize,
          modes: this.modes,
          onReject: (r) => this.log.error({ file: r.entry.path, list: r.entry.list, keptAt: r.keptAt, code: r.code, reason: r.reason }, "spool: message refused for good, kept in rejected/"),
          onStuck: (entry, err) => this.reportStuck(entry, err),
          between: async () => {
            await yieldToLoop();
            return !this.closing;
          },
        }, this.episode ?? emptySpoolSummary());
      }
    } finally {
      await outbox?.close();
    }
  }

  private beginEpisode(files: number): void {
    if (this.episode !== null) return;
    this.episode = { ...emptySpoolSummary(), startedAt: Date.now() };
    this.log.info({ files }, "spool: importing waiting messages");
  }

  private finishEpisode(left: number): void {
    const e = this.episode;
    if (e === null) return;
    this.episode = null;
    const { startedAt, ...counts } = e;
    this.log.info({ ...counts, left, ms: Date.now() - startedAt }, left === 0 ? "spool drained" : "spool drained but for files that cannot be imported");
  }

  private reportStuck(entry: SpoolEntry, err: unknown): void {
    if (this.stuck.has(entry.path)) return;
    this.stuck.add(entry.path);
    this.log.warn({ file: entry.path, list: entry.list, err }, "spool: cannot import this file; it stays and is tried again");
  }

  private backOff(err: unknown): void {
    this.delayMs = this.delayMs === 0 ? FIRST_RETRY_MS : Math.min(this.delayMs * 2, this.options.retryMaxMs ?? 30_000);
    if (this.troubleSince === 0) this.troubleSince = Date.now();
    const worthWarning = !isOutboxBusy(err) || Date.now() - this.troubleSince >= BUSY_WARN_AFTER_MS;
    if (worthWarning && !this.troubleLogged) {
      this.troubleLogged = true;
      const what = err instanceof OutboxError ? "the outbox cannot take spooled messages now" : "cannot read the spool";
      this.log.warn({ err, retryInMs: this.delayMs }, `spool: ${what}; the files stay, retrying with backoff`);
    } else {
      this.log.debug({ err, retryInMs: this.delayMs }, "spool: retrying later");
    }
    if (this.closing) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.wake();
    }, this.delayMs);
  }

  private watchDir(dir: string): void {
    if (this.closing || this.watchers.has(dir) || this.watchers.size >= MAX_WATCHED_LISTS) return;
    try {
      const watcher = watch(dir, { persistent: false }, () => this.wake());
      watcher.on("error", () => {
        watcher.close();
        this.watchers.delete(dir); // the poll goes on; the next pass watches it again if it still exists
      });
      this.watchers.set(dir, watcher);
    } catch (err) {
      this.log.debug({ dir, err }, "spool: cannot watch; the poll covers it");
    }
  }

  /** What an import never takes: tmp files a dead writer left. */
  private async reportLeftovers(): Promise<void> {
    try {
      const s = await readSpoolStatus(this.options.dir);
      if (s.writing.stale > 0) this.log.warn({ files: s.writing.stale }, "spool: files older than 36h in a tmp/: a writer died mid-write? check and move them to new/ or remove them");
    } catch (err) {
      this.log.debug({ err }, "spool: cannot read its status");
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers.splice(0)) clearInterval(t);
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.running;
  }
}
