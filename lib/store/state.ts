// A subscriber's durable state: who it is, which outbox it follows, how far
// it has stored, which Message-IDs it has archived (so a republished or
// replayed message never becomes a second entry), each sink's crash
// journal, and the dead letters (dead-letters.ts). One file; its commits
// are fsync'd (sync()) before anything they cover is acknowledged.

import { StateError } from "../errors.js";
import { EVENT_ID_PREFIX } from "../message/event.js";
import type { SinkJournal } from "../sinks/sink.js";
import { ArchivedSet, archiveKey, type ArchivedEntry, type ArchivedRows } from "./archived.js";

export type { ArchivedRows } from "./archived.js";
import { Checkpointer } from "./checkpointer.js";
import { DeadLetters, type DeadLetter, type DeadLetterInput } from "./dead-letters.js";
import { ensureSchema, lazy, openDatabase, quickCheck, sqliteGuard, type Db, type Guard } from "./sqlite.js";
import { parseProblems, withProblem, type SinkProblem } from "./sink-problem-list.js";
import { migrate, STATE_KIND, STATE_SCHEMA_VERSION } from "./state-schema.js";
import { WalSync } from "./wal-sync.js";

export type { DeadLetter, DeadLetterInput, DeadLetterStatus } from "./dead-letters.js";
export type { SinkProblem } from "./sink-problem-list.js";

export interface BatchCommit {
  position: number;
  archived: readonly ArchivedEntry[];
  deadLetters: readonly DeadLetterInput[];
}

export class SubscriberState {
  readonly peerId: string;
  private stmts;
  private readonly guard: Guard;
  private readonly archived: ArchivedSet;
  private readonly dead: DeadLetters;
  private checkpointer: Checkpointer | null = null;
  private readonly wal: WalSync;
  /** meta values, read once: this process is the only writer of its state file while it runs. */
  private readonly cache = new Map<string, string | null>();

  private constructor(
    readonly path: string,
    private readonly db: Db,
  ) {
    this.stmts = prepare(db);
    this.guard = stateGuard(path);
    this.archived = new ArchivedSet(db);
    this.dead = new DeadLetters(db);
    this.wal = new WalSync(path);
    this.peerId = this.meta("peer_id") ?? "";
    if (this.peerId === "") throw new StateError("STATE_CORRUPT", `${path} has no peer id: not an mq-archive state file`);
  }

  /** `daemon`: a long-running subscriber; its WAL is checkpointed by a worker thread, never in a commit. */
  static open(path: string, options: { create?: boolean; daemon?: boolean } = {}): SubscriberState {
    return stateGuard(path)(() => {
      // synchronous=NORMAL: a commit survives a crash of this process at once, and a
      // power loss once sync() has fsync'd the WAL. Acks wait for sync(); the event loop never does.
      const db = openDatabase(path, { create: options.create ?? true, durability: "normal" });
      try {
        ensureSchema(db, STATE_KIND, STATE_SCHEMA_VERSION, (from) => migrate(db, from));
        const state = new SubscriberState(path, db);
        if (options.daemon) {
          db.pragma("wal_autocheckpoint = 0");
          state.checkpointer = new Checkpointer(path);
        }
        return state;
      } catch (err) {
        db.close();
        throw err;
      }
    });
  }

  get outboxId(): string | null {
    return this.meta("outbox_id");
  }

  /** Everything at or below this seq of the followed outbox is stored. */
  get position(): number {
    return Number(this.meta("position") ?? "0");
  }

  /**
   * How many deliveries (batches and dead-letter retries) have been
   * committed. A sink journals the number its write will commit as, so after
   * a crash it knows whether that write was committed.
   */
  get commits(): number {
    return Number(this.meta("commits") ?? "0");
  }

  /** The --lists filter of the last run (null: all lists). */
  get lists(): string[] | null {
    const raw = this.meta("lists");
    return raw === null ? null : (JSON.parse(raw) as string[]);
  }

  setLists(lists: string[] | null): void {
    this.setMeta("lists", lists === null ? null : JSON.stringify(lists));
  }

  /** Follow a (new) outbox from its beginning. Archived Message-IDs are kept, so nothing is archived twice. */
  adoptOutbox(id: string): void {
    this.guard(() =>
      this.write(() => {
        this.setMeta("outbox_id", id);
        this.setMeta("position", "0");
      })(),
    );
  }

  /** Where this peer chose to start when it had no state (--start), and the position that resolved to; null before its first session. */
  get start(): { start: string; position: number } | null {
    const start = this.meta("start");
    return start === null ? null : { start, position: Number(this.meta("start_position") ?? "0") };
  }

  /** The first session resolved the start point: follow `outbox` from `position` (records before it are not for us). */
  recordStart(outbox: string, start: string, position: number): void {
    this.guard(() =>
      this.write(() => {
        this.setMeta("outbox_id", outbox);
        this.setMeta("start", start);
        this.setMeta("start_position", String(position));
        this.setMeta("position", String(position));
      })(),
    );
  }

  /** The seq under which this list's Message-ID was archived, if it was. */
  findArchived(list: string, messageId: string, key = archiveKey(messageId)): number | undefined {
    return this.guard(() => this.archived.find(list, key));
  }

  /** What `verify` compares: the written archived entries of the followed outbox (verify/archive-view.ts). */
  archivedView(): ArchivedRows {
    const outbox = this.outboxId ?? "";
    this.guard(() => this.archived.flush());
    return {
      lists: () => this.guard(() => this.archived.listsOf(outbox)),
      sum: (list, from, to) => this.guard(() => this.archived.sumOf(list, outbox, from, to)),
      entries: (list, from, to) => this.guard(() => this.archived.entriesOf(list, outbox, from, to)),
    };
  }

  /** Records `verify --repair` stored through the sinks: a commit (sinks' journals count on it), their entries written now. */
  commitRepaired(archived: readonly ArchivedEntry[]): void {
    const outbox = this.outboxId ?? "";
    this.guard(() => this.write(() => this.bumpCommits())());
    this.archived.add(archived, outbox, Date.now());
    this.guard(() => this.archived.flush());
  }

  /**
   * Commit a delivered batch: position and dead letters atomically and
   * durably; its Message-IDs join the archived set (written in groups).
   */
  commit(batch: BatchCommit): void {
    const outbox = this.outboxId ?? "";
    const now = Date.now();
    this.guard(() =>
      this.write(() => {
        for (const d of batch.deadLetters) this.dead.add(d, outbox, now);
        this.setMeta("position", String(batch.position));
        this.bumpCommits();
        this.countArchived(batch.archived);
      })(),
    );
    this.archived.add(batch.archived, outbox, now); // memory only: written by flush()
    if (this.archived.flushDue(now)) this.flushArchived();
    else this.archived.flushSoon();
  }

  /** The batch is committed: a flush that cannot be written now stays pending for a later one (never commit twice). */
  private flushArchived(): void {
    try {
      this.guard(() => this.archived.flush());
    } catch (err) {
      if (!(err instanceof StateError) || !err.retryable) throw err;
    }
  }

  private bumpCommits(): void {
    this.setMeta("commits", String(this.commits + 1));
  }

  private countArchived(archived: readonly ArchivedEntry[]): void {
    let events = 0;
    for (const a of archived) if (a.messageId.startsWith(EVENT_ID_PREFIX)) events++;
    const { messages, events: before } = this.archivedCounts;
    if (events > 0) this.setMeta("archived_events", String(before + events));
    if (archived.length > events) this.setMeta("archived_messages", String(messages + archived.length - events));
  }

  /** Records archived (stored by every sink, or dead-lettered) since this state file was created or upgraded, by kind. */
  get archivedCounts(): { messages: number; events: number } {
    return { messages: Number(this.meta("archived_messages") ?? "0"), events: Number(this.meta("archived_events") ?? "0") };
  }

  /** The problems the sinks reported and have not cleared (informational: not part of any commit). */
  get sinkProblems(): SinkProblem[] {
    return parseProblems(this.meta("sink_problems"));
  }

  /** Set one sink's problem, or clear it (null). */
  setSinkProblem(sink: string, problem: string | null, now = Date.now()): void {
    this.writeSinkProblems(withProblem(this.sinkProblems, sink, problem, now));
  }

  /** Forget every sink's problem (a subscriber starting: only its own sinks speak now). */
  clearSinkProblems(): void {
    if (this.meta("sink_problems") !== null) this.writeSinkProblems(null);
  }

  private writeSinkProblems(value: string | null): void {
    this.guard(() => this.write(() => this.setMeta("sink_problems", value))());
  }

  /** Mark dead letters for another attempt (`all`, or one id). Returns how many were marked. */
  requestRetry(which: number | "all"): number {
    return this.guard(() => this.dead.requestRetry(which));
  }

  /** Dead letters an operator asked to retry. */
  pendingRetries(): DeadLetter[] {
    return this.guard(() => this.dead.pending());
  }

  /** A retried dead letter was stored: it is gone, and that counts as a commit. */
  resolveDeadLetter(id: number): void {
    this.guard(() =>
      this.write(() => {
        this.dead.remove(id);
        this.bumpCommits();
      })(),
    );
  }

  /** A retry failed again: back to the dead, one attempt more. */
  failedRetry(id: number, error: string): void {
    this.guard(() => this.dead.failedRetry(id, error, Date.now()));
  }

  deadLetterCount(): number {
    return this.guard(() => this.dead.count());
  }

  journal(sink: string): SinkJournal {
    return {
      get: () => {
        const raw = this.guard(() => this.stmts.journalGet.get(sink) as string | undefined);
        return raw === undefined ? undefined : JSON.parse(raw);
      },
      set: async (value) => {
        this.guard(() => this.stmts.journalSet.run(sink, JSON.stringify(value ?? null)));
        await this.sync();
      },
    };
  }

  deadLetters(): DeadLetter[] {
    return this.guard(() => this.dead.all());
  }

  /** null when the file passes `PRAGMA quick_check`. */
  check(): string | null {
    return this.guard(() => quickCheck(this.db));
  }

  /**
   * Make every commit so far durable (wal-sync.ts: a group fsync of the WAL
   * off the event loop).
   */
  sync(): Promise<void> {
    return this.wal.sync();
  }

  /**
   * Close: the state is durable when this returns. The promise settles once
   * the WAL handle and the checkpoint thread are gone too (until then the
   * thread may still touch the files: await it before removing them).
   */
  close(): Promise<void> {
    if (!this.db.open) return Promise.resolve();
    let gone: Promise<unknown>;
    this.archived.cancelFlush();
    try {
      this.archived.flush();
      // A clean close makes everything durable: one FULL transaction syncs the WAL.
      this.db.pragma("synchronous = FULL");
      this.stmts.metaSet.run("closed_at", String(Date.now()));
    } finally {
      gone = Promise.allSettled([this.wal.close(), this.checkpointer?.close()]);
      this.checkpointer = null;
      this.db.close();
    }
    return gone.then(() => undefined);
  }

  /** A write transaction; if it fails, the cached meta values may be ahead of the file: forget them. */
  private write<T>(fn: () => T): () => T {
    return () => {
      try {
        return this.db.transaction(fn)();
      } catch (err) {
        this.cache.clear();
        throw err;
      }
    };
  }

  private meta(key: string): string | null {
    if (!this.cache.has(key)) {
      this.cache.set(key, this.guard(() => (this.stmts.metaGet.get(key) as string | undefined) ?? null));
    }
    return this.cache.get(key) ?? null;
  }

  /** Inside a transaction the cache may run ahead of a rollback: write() drops it on failure. */
  private setMeta(key: string, value: string | null): void {
    this.guard(() => {
      if (value === null) this.stmts.metaDelete.run(key);
      else this.stmts.metaSet.run(key, value);
    });
    this.cache.set(key, value);
  }
}

function prepare(db: Db) {
  return lazy({
    metaGet: () => db.prepare("SELECT value FROM meta WHERE key = ?").pluck(),
    metaSet: () => db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    metaDelete: () => db.prepare("DELETE FROM meta WHERE key = ?"),
    journalGet: () => db.prepare("SELECT data FROM journal WHERE sink = ?").pluck(),
    journalSet: () => db.prepare(
      "INSERT INTO journal (sink, data) VALUES (?, ?) ON CONFLICT (sink) DO UPDATE SET data = excluded.data",
    ),
  });
}

/** The state file's guard: SQLite failures become StateErrors (full and busy ones retryable). */
function stateGuard(path: string): Guard {
  return sqliteGuard(StateError, (condition, detail, cause) => {
    const [code, what] =
      condition === "corrupt"
        ? (["STATE_CORRUPT", "corrupt"] as const)
        : condition === "full"
          ? (["STATE_FULL", "on a full disk"] as const)
          : condition === "busy"
            ? (["STATE_BUSY", "locked by another process"] as const)
            : (["STATE_UNUSABLE", "unusable"] as const);
    return new StateError(code, `subscriber state ${path} is ${what}: ${detail}`, { cause });
  });
}
