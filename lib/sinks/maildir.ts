// maildir:DIR — DIR/<list>/{tmp,new,cur}, each message delivered the maildir
// way: written in tmp/, fsync'd, renamed into new/, then new/ fsync'd.
// List events pass by (storeKind), as stored.
//
// File names derive from (outbox, seq), so a redelivered record lands on
// the same name: the rename replaces an identical file instead of adding a
// second one. A reader may have moved a message into cur/ in the window
// between our rename and our commit; start() looks for those once.
//
// What it creates is owner-only, or group-readable when DIR is (fs-util).

import { readdir, rename } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.js";
import { ensureDirectory, forEachLimited, OWNER_ONLY, prepareSinkDirectory, syncDirectory, writeFileDurably, type Modes } from "./fs-util.js";
import { fsError, storeKind, type Sink, type SinkContext, type SinkRecord } from "./sink.js";

const NAME = /^\d+\.([0-9a-f]{8})_(\d+)\.mq-archive(?::2,.*)?$/;

export function maildirName(record: Pick<SinkRecord, "outbox" | "seq" | "receivedAt">): string {
  return `${Math.floor(record.receivedAt / 1000)}.${record.outbox.replace(/-/g, "").slice(0, 8)}_${record.seq}.mq-archive`;
}

export class MaildirSink implements Sink {
  readonly name: string;
  private readonly prepared = new Set<string>();
  /**
   * `${list}/${name}` of messages already delivered but not yet committed: found
   * in cur/ at start (a reader moved them after our rename, before our commit),
   * or renamed by this process in an attempt that failed later in the batch.
   * Delivering those again could add a second copy beside one a reader moved.
   */
  private delivered = new Map<string, number>();
  private context: SinkContext | null = null;
  private log: Logger | null = null;
  private modes: Modes = OWNER_ONLY;

  constructor(private readonly dir: string) {
    this.name = `maildir:${dir}`;
  }

  async start(context: SinkContext): Promise<void> {
    this.log = context.log;
    this.context = context;
    try {
      this.modes = await prepareSinkDirectory(this.dir);
      if (context.outbox !== null) this.delivered = await this.findUncommittedInCur(context.outbox, context.committed);
    } catch (err) {
      throw fsError(err, `cannot prepare maildir ${this.dir}`);
    }
  }

  async store(records: readonly SinkRecord[]): Promise<void> {
    await storeKind("message", records, (safe) => this.deliver(safe));
  }

  private async deliver(records: readonly SinkRecord[]): Promise<void> {
    const lists = new Set(records.map((r) => r.list));
    this.forgetCommitted();
    const key = (r: SinkRecord): string => `${r.list}/${maildirName(r)}`;
    const fresh = records.filter((r) => !this.delivered.has(key(r)));
    try {
      for (const list of lists) await this.prepare(list);
      await forEachLimited(fresh, 16, (r) => writeFileDurably(this.tmpPath(r), r.body, this.modes.file));
      for (const r of fresh) {
        await rename(this.tmpPath(r), join(this.dir, r.list, "new", maildirName(r)));
        this.delivered.set(key(r), r.seq);
      }
      for (const list of lists) await syncDirectory(join(this.dir, list, "new"));
    } catch (err) {
      throw fsError(err, `cannot deliver into maildir ${this.dir}`);
    }
  }

  private forgetCommitted(): void {
    const committed = this.context?.position() ?? 0;
    for (const [key, seq] of this.delivered) if (seq <= committed) this.delivered.delete(key);
  }

  private tmpPath(record: SinkRecord): string {
    return join(this.dir, record.list, "tmp", maildirName(record));
  }

  private async prepare(list: string): Promise<void> {
    if (this.prepared.has(list)) return;
    for (const sub of ["tmp", "new", "cur"]) await ensureDirectory(join(this.dir, list, sub), this.modes.directory);
    await syncDirectory(this.dir);
    this.prepared.add(list);
  }

  private async findUncommittedInCur(outbox: string, committed: number): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const prefix = outbox.replace(/-/g, "").slice(0, 8);
    for (const list of await readdir(this.dir)) {
      let names: string[];
      try {
        names = await readdir(join(this.dir, list, "cur"));
      } catch {
        continue;
      }
      for (const name of names) {
        const m = NAME.exec(name);
        if (m && m[1] === prefix && Number(m[2]) > committed) found.set(`${list}/${name.replace(/:2,.*$/, "")}`, Number(m[2]));
      }
    }
    if (found.size > 0) this.log?.info({ count: found.size }, "messages delivered before a crash were already read; not delivering them again");
    return found;
  }

  async close(): Promise<void> {
    this.prepared.clear();
    this.context = null;
  }
}
