// What an archive program holds of each list, as its Message-IDs (without
// angle brackets, as public-inbox and HyperKitty keep them): the common part
// of their read-backs. An entry is held when its archive key is that of a
// held Message-ID, with or without the brackets (mq-archive keeps a
// bracketed Message-ID with them, an unbracketed one as it came); a
// message found otherwise (confirm, by the subclass) is noted, so it is not
// counted as held but unrecorded.

import { archiveKey } from "../store/archived.js";
import type { Held, Readback } from "./readback.js";

/** What one list's archive holds; messages are numbered by the subclass (an article number, an index). */
export class HeldMessages {
  /** Archive key (hex) of each Message-ID, as `<mid>` and as `mid` → its message. */
  readonly byKey = new Map<string, number>();
  /** Message-ID as kept → its message. */
  readonly byMid = new Map<string, number>();
  private readonly messages = new Set<number>();

  add(message: number, mid: string): void {
    this.messages.add(message);
    this.byMid.set(mid, message);
    this.byKey.set(archiveKey(`<${mid}>`).toString("hex"), message);
    this.byKey.set(archiveKey(mid).toString("hex"), message);
  }

  get count(): number {
    return this.messages.size;
  }
}

export abstract class IndexedReadback implements Readback {
  private readonly lists = new Map<string, Promise<HeldMessages>>();
  /** Per list: messages found by confirm, which the entries therefore account for. */
  private readonly confirmed = new Map<string, Set<number>>();

  constructor(readonly sink: string) {}

  protected abstract load(list: string): Promise<HeldMessages>;

  async holds(list: string, entry: Held): Promise<boolean> {
    return (await this.of(list)).byKey.has(entry.key.toString("hex"));
  }

  async unrecorded(list: string, entries: readonly Held[]): Promise<number> {
    const held = await this.of(list);
    const accounted = new Set(this.confirmed.get(list) ?? []);
    for (const e of entries) {
      const message = held.byKey.get(e.key.toString("hex"));
      if (message !== undefined) accounted.add(message);
    }
    return held.count - accounted.size;
  }

  /** A record found by confirm under Message-ID `mid` (as the program keeps it): its message is accounted for. */
  protected async noteConfirmed(list: string, mid: string): Promise<boolean> {
    const message = (await this.of(list)).byMid.get(mid);
    if (message === undefined) return false;
    const into = this.confirmed.get(list) ?? new Set<number>();
    into.add(message);
    this.confirmed.set(list, into);
    return true;
  }

  protected of(list: string): Promise<HeldMessages> {
    let held = this.lists.get(list);
    if (held === undefined) {
      held = this.load(list);
      this.lists.set(list, held);
    }
    return held;
  }
}
