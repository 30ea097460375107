// events:DIR — each list event as one JSON line (the event's JSON with its
// id, type and list) appended to DIR/<list>.jsonl, fsync'd, in seq order.
// Messages pass by (stored as far as this sink goes).
//
// Crash-safe the way mbox is: before appending, the size of every file it
// touches is recorded in the sink's journal (fsync'd in the state database)
// with the number the delivery will commit as; if we crash before that
// commit, start() cuts each file back and the delivery comes again. So no
// torn line, and no line twice. A line is also never written for an id its
// file already holds (an event redelivered from a replaced outbox, say):
// each file's ids are read once, at its first append after start().
//
// What it creates is owner-only, or group-readable when DIR is (fs-util).

import { createHash } from "node:crypto";
import { open, stat, truncate, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { SinkError } from "../errors.js";
import { EVENT_ID_PREFIX } from "../message/event.js";
import { OWNER_ONLY, prepareSinkDirectory, type Modes } from "./fs-util.js";
import { fsError, storeKind, type Sink, type SinkContext, type SinkRecord } from "./sink.js";

interface EventsJournal {
  /** The commit number the append belongs to: not committed yet if above the state's count. */
  commit: number;
  /** Each file's size before the first append of that delivery. */
  sizes: Record<string, number>;
}

/** What this process knows of a file it appended to. */
interface FileState {
  /** Its size after our last append (or when first read). */
  size: number;
  /** The ids of the events it holds. */
  ids: Set<string>;
}

/** One event, ready to append. */
export interface EventLine {
  id: string;
  line: string;
}

export class EventsSink implements Sink {
  readonly name: string;
  private context: SinkContext | null = null;
  private readonly files = new Map<string, FileState>();
  private modes: Modes = OWNER_ONLY;

  constructor(private readonly dir: string) {
    this.name = `events:${dir}`;
  }

  async start(context: SinkContext): Promise<void> {
    this.context = context;
    this.files.clear();
    try {
      this.modes = await prepareSinkDirectory(this.dir);
      const pending = context.journal.get() as EventsJournal | undefined | null;
      if (pending && typeof pending.commit === "number" && pending.commit > context.commits()) {
        for (const [file, size] of Object.entries(pending.sizes)) await truncateTo(file, size);
        context.log.info({ files: Object.keys(pending.sizes).length }, "events: cut back an uncommitted append after a crash");
      }
      await context.journal.set(null);
    } catch (err) {
      throw fsError(err, `cannot prepare events directory ${this.dir}`);
    }
  }

  async store(records: readonly SinkRecord[]): Promise<void> {
    await storeKind("event", records, (events) => this.storeEvents(events));
  }

  /** Append the events up to the first whose body is no event (a broken publisher), then fail that one for good. */
  private async storeEvents(records: readonly SinkRecord[]): Promise<void> {
    const lines: Array<EventLine & { file: string }> = [];
    let refused: { index: number; reason: string } | null = null;
    for (const [index, r] of records.entries()) {
      try {
        lines.push({ ...eventLine(r), file: join(this.dir, eventsFileName(r.list)) });
      } catch (err) {
        refused = { index, reason: (err as Error).message };
        break;
      }
    }
    if (lines.length > 0) await this.append(lines);
    if (refused !== null) {
      throw new SinkError(`seq ${records[refused.index]!.seq} is no event: ${refused.reason}`, { transient: false, stored: refused.index });
    }
  }

  private async append(lines: ReadonlyArray<EventLine & { file: string }>): Promise<void> {
    const context = this.context;
    if (context === null) throw new SinkError("events sink used before start()", { transient: true });
    const byFile = new Map<string, EventLine[]>();
    for (const l of lines) byFile.set(l.file, [...(byFile.get(l.file) ?? []), l]);
    const handles: FileHandle[] = [];
    try {
      const targets: Array<{ file: string; handle: FileHandle; state: FileState; fresh: EventLine[] }> = [];
      try {
        for (const [file, entries] of byFile) {
          const handle = await open(file, "a+", this.modes.file);
          handles.push(handle);
          const state = await this.fileState(file, handle);
          const seen = new Set(state.ids);
          const fresh = entries.filter((e) => !seen.has(e.id) && seen.add(e.id));
          if (fresh.length > 0) targets.push({ file, handle, state, fresh });
        }
      } catch (err) {
        throw fsError(err, `cannot prepare the events files in ${this.dir}`);
      }
      if (targets.length === 0) return;
      await context.journal.set(journalFor(context, targets.map((t) => [t.file, t.state.size])));
      try {
        for (const t of targets) {
          await t.handle.writeFile(t.fresh.map((e) => e.line).join(""));
          await t.handle.sync();
          t.state.size = (await t.handle.stat()).size;
          for (const e of t.fresh) t.state.ids.add(e.id);
        }
      } catch (err) {
        // Cut back what this call wrote; should that fail, fileState() cuts back before the next append.
        await Promise.allSettled(targets.map((t) => t.handle.truncate(t.state.size)));
        throw fsError(err, `cannot append to the events files in ${this.dir}`);
      }
    } finally {
      await Promise.allSettled(handles.map((h) => h.close()));
    }
  }

  /** The file as this sink left it: read once (its ids), and cut back to our last size if a failed append left a tail. */
  private async fileState(file: string, handle: FileHandle): Promise<FileState> {
    const known = this.files.get(file);
    if (known !== undefined) {
      if ((await handle.stat()).size > known.size) await handle.truncate(known.size);
      return known;
    }
    const data = await handle.readFile();
    // A line without its newline can only be a torn append: not ours to keep.
    const size = data.lastIndexOf(0x0a) + 1;
    if (size < data.length) await handle.truncate(size);
    const state: FileState = { size, ids: idsOf(data.subarray(0, size).toString("utf8")) };
    this.files.set(file, state);
    return state;
  }

  async close(): Promise<void> {
    this.context = null;
    this.files.clear();
  }
}

/** The journal for an append: each file's size before the delivery's first append (a retry is the same delivery). */
function journalFor(context: SinkContext, sizes: ReadonlyArray<[string, number]>): EventsJournal {
  const commit = context.commits() + 1;
  const pending = context.journal.get() as EventsJournal | undefined | null;
  const now = Object.fromEntries(sizes);
  return { commit, sizes: pending && pending.commit === commit ? { ...now, ...pending.sizes } : now };
}

/**
 * The line an event record becomes: its JSON with `id`, `type` and `list`
 * first (the id from the record's Message-ID if the body has none, the
 * list the record's). Throws for a body that is not a JSON object with a type.
 */
export function eventLine(record: Pick<SinkRecord, "list" | "messageId" | "body">): EventLine {
  let value: unknown;
  try {
    value = JSON.parse(record.body.toString("utf8"));
  } catch (err) {
    throw new Error(`its body is not JSON (${(err as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("its body is not a JSON object");
  const body = value as Record<string, unknown>;
  if (typeof body.type !== "string") throw new Error("its body has no \"type\"");
  const fromRecord = record.messageId.startsWith(EVENT_ID_PREFIX) ? record.messageId.slice(EVENT_ID_PREFIX.length) : record.messageId;
  const lead = { id: typeof body.id === "string" ? body.id : fromRecord, type: body.type, list: record.list };
  return { id: lead.id, line: `${JSON.stringify({ ...lead, ...body, ...lead })}\n` };
}

function idsOf(text: string): Set<string> {
  const ids = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      const id = (JSON.parse(line) as { id?: unknown }).id;
      if (typeof id === "string") ids.add(id);
    } catch {
      // Not one of our lines (edited by hand?): it names no id.
    }
  }
  return ids;
}

/** File names hold at most 255 bytes (list names are ASCII, so characters are bytes). */
const NAME_MAX = 255;

/** `<list>.jsonl`, or for a list name too long for that, its first characters, `~` and a hash of the whole name (as mbox does). */
export function eventsFileName(list: string): string {
  const plain = `${list}.jsonl`;
  if (plain.length <= NAME_MAX) return plain;
  const hash = createHash("sha256").update(list).digest("hex").slice(0, 32);
  return `${list.slice(0, NAME_MAX - hash.length - ".jsonl".length - 1)}~${hash}.jsonl`;
}

async function truncateTo(file: string, size: number): Promise<void> {
  try {
    if ((await stat(file)).size > size) await truncate(file, size);
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
}
