// What a sink really holds, read back from its files, for `verify --sink`:
// maildir:DIR by its file names (they carry the outbox and seq, see
// sinks/maildir.ts), mbox:DIR by the Message-ID of each message in
// DIR/<list>.mbox (a last message without its closing blank line was cut
// short, and does not count); public-inbox[:PI_CONFIG] through public-inbox
// itself (readback-public-inbox.ts); hyperkitty:URL through its REST API
// (readback-hyperkitty.ts). Other sinks cannot be read back here.

import { open, readdir, readFile, truncate } from "node:fs/promises";
import { join } from "node:path";
import { readMbox } from "../ingest/mbox-reader.js";
import { acceptMessage } from "../message/rfc5322.js";
import { mboxFileName } from "../sinks/mbox.js";
import { archiveKey } from "../store/archived.js";
import { HyperKittyReadback } from "./readback-hyperkitty.js";
import { PublicInboxReadback } from "./readback-public-inbox.js";

const MAILDIR_NAME = /^\d+\.([0-9a-f]{8})_(\d+)\.mq-archive(?::2,.*)?$/;

export interface Held {
  seq: number;
  key: Buffer;
}

export interface Readback {
  readonly sink: string;
  /** Does the sink hold this archived entry? */
  holds(list: string, entry: Held): Promise<boolean>;
  /** How many messages the sink holds of `list` that are not among `entries` (held but not recorded). */
  unrecorded(list: string, entries: readonly Held[]): Promise<number>;
  /** Before --repair stores anything: cut off what was cut short (an mbox's torn last message), so appends start clean. */
  beforeRepair?(): Promise<void>;
  /** Of retained records `holds` did not find, the seqs the sink holds after all, found by content. */
  confirm?(records: ReadonlyArray<{ list: string; seq: number; body: Buffer }>): Promise<Set<number>>;
  close?(): Promise<void>;
}

/** A reader for the sink spec, or null when this kind of sink cannot be read back. */
export function readbackFor(spec: string, outbox: string): Readback | null {
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? "" : spec.slice(colon + 1);
  if (kind === "maildir") return new MaildirReadback(spec, rest, outbox);
  if (kind === "mbox") return new MboxReadback(spec, rest);
  if (kind === "public-inbox") return new PublicInboxReadback(spec, rest);
  if (kind === "hyperkitty") return new HyperKittyReadback(spec, rest);
  return null;
}

abstract class CachedReadback<T> implements Readback {
  private readonly lists = new Map<string, Promise<Set<T>>>();
  constructor(readonly sink: string) {}

  protected abstract load(list: string): Promise<Set<T>>;
  protected abstract id(entry: Held): T;

  private of(list: string): Promise<Set<T>> {
    let held = this.lists.get(list);
    if (held === undefined) {
      held = this.load(list);
      this.lists.set(list, held);
    }
    return held;
  }

  async holds(list: string, entry: Held): Promise<boolean> {
    return (await this.of(list)).has(this.id(entry));
  }

  async unrecorded(list: string, entries: readonly Held[]): Promise<number> {
    const recorded = new Set(entries.map((e) => this.id(e)));
    let n = 0;
    for (const id of await this.of(list)) if (!recorded.has(id)) n++;
    return n;
  }
}

class MaildirReadback extends CachedReadback<number> {
  private readonly prefix: string;
  constructor(sink: string, private readonly dir: string, outbox: string) {
    super(sink);
    this.prefix = outbox.replace(/-/g, "").slice(0, 8);
  }

  protected id(entry: Held): number {
    return entry.seq;
  }

  protected async load(list: string): Promise<Set<number>> {
    const seqs = new Set<number>();
    for (const sub of ["new", "cur"]) {
      for (const name of await namesIn(join(this.dir, list, sub))) {
        const m = MAILDIR_NAME.exec(name);
        if (m && m[1] === this.prefix) seqs.add(Number(m[2]));
      }
    }
    return seqs;
  }
}

class MboxReadback extends CachedReadback<string> {
  /** Files whose last message was cut short. */
  private readonly torn = new Set<string>();

  constructor(sink: string, private readonly dir: string) {
    super(sink);
  }

  async beforeRepair(): Promise<void> {
    for (const path of this.torn) await cutTornTail(path);
    this.torn.clear();
  }

  protected id(entry: Held): string {
    return entry.key.toString("hex");
  }

  protected async load(list: string): Promise<Set<string>> {
    const path = join(this.dir, mboxFileName(list));
    const keys: string[] = [];
    try {
      for await (const m of readMbox(path)) {
        try {
          keys.push(archiveKey(acceptMessage(m.body, Number.MAX_SAFE_INTEGER).messageId).toString("hex"));
        } catch {
          keys.push(""); // not a message we could have written: holds nothing we look for
        }
      }
    } catch (err) {
      if ((err as { code?: string }).code === "NO_INPUT") return new Set();
      throw err;
    }
    if (keys.length > 0 && !(await endsWithBlankLine(path))) {
      keys.pop(); // cut short: not whole
      this.torn.add(path);
    }
    return new Set(keys.filter((k) => k !== ""));
  }
}

async function namesIn(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** Each mboxrd entry ends with a blank line (sinks/mbox.ts mboxEntry): a file that does not was cut short. */
async function endsWithBlankLine(path: string): Promise<boolean> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    if (size < 2) return false;
    const tail = Buffer.alloc(2);
    await file.read(tail, 0, 2, size - 2);
    return tail.toString("latin1") === "\n\n";
  } finally {
    await file.close();
  }
}

/** Truncate an mbox to the start of its last entry (the one cut short): its "From " line after a blank line, or the file's start. */
async function cutTornTail(path: string): Promise<void> {
  const data = await readFile(path);
  const at = data.lastIndexOf("\n\nFrom ");
  await truncate(path, at < 0 ? 0 : at + 2);
}
