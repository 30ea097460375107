// mbox:DIR — DIR/<list>.mbox in mboxrd format, crash-safe. A list name too
// long for that file name gets a bounded one (mboxFileName). List events
// pass by (storeKind), as stored.
//
// Before appending, the size of every file it touches is recorded in the
// sink's journal (fsync'd in the state database) with the number the
// delivery will commit as. If we crash before that commit, start() truncates
// each file back to its recorded size and the delivery comes again: no torn
// entry, no duplicate. A failed append is cut back the same way at once.
//
// What it creates is owner-only, or group-readable when DIR is (fs-util).

import { createHash } from "node:crypto";
import { open, stat, truncate, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { quoteMboxrd } from "../message/mboxrd.js";
import { headerLines } from "../message/rfc5322.js";
import { SinkError } from "../errors.js";
import { OWNER_ONLY, prepareSinkDirectory, type Modes } from "./fs-util.js";
import { fsError, storeKind, type Sink, type SinkContext, type SinkRecord } from "./sink.js";

interface MboxJournal {
  /** The commit number the append belongs to: not committed yet if above the state's count. */
  commit: number;
  /** Each file's size before the first append of that delivery. */
  sizes: Record<string, number>;
}

/** A file one append writes to, through its own handle. */
interface Target {
  file: string;
  handle: FileHandle;
  /** Its size before this append. */
  size: number;
  data: Buffer;
}

export class MboxSink implements Sink {
  readonly name: string;
  private context: SinkContext | null = null;
  /** Each file's size after this sink's last successful append (or recovery). */
  private readonly sizes = new Map<string, number>();
  private modes: Modes = OWNER_ONLY;

  constructor(private readonly dir: string) {
    this.name = `mbox:${dir}`;
  }

  async start(context: SinkContext): Promise<void> {
    this.context = context;
    try {
      this.modes = await prepareSinkDirectory(this.dir);
      const pending = context.journal.get() as MboxJournal | undefined | null;
      if (pending && typeof pending.commit === "number" && pending.commit > context.commits()) {
        for (const [file, size] of Object.entries(pending.sizes)) await truncateTo(file, size);
        context.log.info({ files: Object.keys(pending.sizes).length }, "mbox: cut back an uncommitted append after a crash");
      }
      await context.journal.set(null);
    } catch (err) {
      throw fsError(err, `cannot prepare mbox directory ${this.dir}`);
    }
  }

  async store(records: readonly SinkRecord[]): Promise<void> {
    await storeKind("message", records, (safe) => this.append(safe));
  }

  private async append(records: readonly SinkRecord[]): Promise<void> {
    const context = this.context;
    if (context === null) throw new SinkError("mbox sink used before start()", { transient: true });
    const byFile = new Map<string, Buffer[]>();
    for (const r of records) {
      const file = join(this.dir, mboxFileName(r.list));
      const entries = byFile.get(file) ?? [];
      entries.push(mboxEntry(r));
      byFile.set(file, entries);
    }
    // Everything below goes through open handles: a path that changes meanwhile (the directory
    // renamed, replaced) cannot make us measure, append to or cut back another file.
    const targets: Target[] = [];
    try {
      try {
        for (const [file, entries] of byFile) {
          const target: Target = { file, handle: await open(file, "a", this.modes.file), size: 0, data: Buffer.concat(entries) };
          targets.push(target);
          target.size = await this.trueSize(target);
        }
      } catch (err) {
        throw fsError(err, `cannot prepare the mbox files in ${this.dir}`);
      }
      await context.journal.set(this.journalFor(context, targets));
      try {
        for (const t of targets) {
          await t.handle.writeFile(t.data);
          await t.handle.sync();
          this.sizes.set(t.file, (await t.handle.stat()).size);
        }
      } catch (err) {
        // Cut back to where this call started (earlier calls of the delivery stored their part).
        // Should that fail too, every file of the call expects its old size: trueSize() cuts it back first.
        for (const t of targets) this.sizes.set(t.file, t.size);
        await Promise.allSettled(targets.map((t) => t.handle.truncate(t.size)));
        throw fsError(err, `cannot append to mbox in ${this.dir}`);
      }
    } finally {
      await Promise.allSettled(targets.map((t) => t.handle.close()));
    }
  }

  /** The journal for an append: each file's size before the delivery's first append (a retry is the same delivery). */
  private journalFor(context: SinkContext, targets: readonly Target[]): MboxJournal {
    const sizes = Object.fromEntries(targets.map((t) => [t.file, t.size]));
    const commit = context.commits() + 1;
    const pending = context.journal.get() as MboxJournal | undefined | null;
    return { commit, sizes: pending && pending.commit === commit ? { ...sizes, ...pending.sizes } : sizes };
  }

  /**
   * The size a file should have: as this sink last left it. A failed append
   * whose cut-back failed too leaves a tail; it is removed here, before
   * anything is appended after it.
   */
  private async trueSize(target: Target): Promise<number> {
    const actual = (await target.handle.stat()).size;
    const expected = this.sizes.get(target.file);
    if (expected === undefined || actual <= expected) {
      this.sizes.set(target.file, actual);
      return actual;
    }
    await target.handle.truncate(expected);
    return expected;
  }

  async close(): Promise<void> {
    this.context = null;
  }
}

/** File names hold at most 255 bytes (list names are ASCII, so characters are bytes). */
const NAME_MAX = 255;

/**
 * The file a list's messages go to: `<list>.mbox`, or for a list name too
 * long for that, its first characters, `~` (which no list name holds, so it
 * cannot meet another list's file) and a hash of the whole name.
 */
export function mboxFileName(list: string): string {
  const plain = `${list}.mbox`;
  if (plain.length <= NAME_MAX) return plain;
  const hash = createHash("sha256").update(list).digest("hex").slice(0, 32);
  return `${list.slice(0, NAME_MAX - hash.length - ".mbox".length - 1)}~${hash}.mbox`;
}

/** One mboxrd entry: envelope line, quoted body ending in a newline, blank separator line. */
export function mboxEntry(record: Pick<SinkRecord, "body" | "receivedAt">): Buffer {
  const body = quoteMboxrd(record.body);
  const endsWithNewline = body.length > 0 && body[body.length - 1] === 10;
  const envelope = `From ${envelopeSender(record.body)} ${asctime(new Date(record.receivedAt))}\n`;
  return Buffer.concat([Buffer.from(envelope, "latin1"), body, Buffer.from(endsWithNewline ? "\n" : "\n\n")]);
}

function envelopeSender(body: Buffer): string {
  for (const field of headerLines(body)) {
    const m = /^(return-path|from)\s*:(.*)$/is.exec(field);
    if (!m) continue;
    const value = m[2]!.replace(/\s+/g, " ");
    const addr = /<([^<>\s]+@[^<>\s]+)>/.exec(value)?.[1] ?? /([^<>\s"(),:;]+@[^<>\s"(),:;]+)/.exec(value)?.[1];
    if (addr) return addr;
  }
  return "MAILER-DAEMON";
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function asctime(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${time} ${d.getUTCFullYear()}`;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return 0;
    throw err;
  }
}

async function truncateTo(file: string, size: number): Promise<void> {
  if ((await sizeOf(file)) > size) await truncate(file, size);
}
