// `verify --sink hyperkitty:URL`: what HyperKitty holds of a list, read
// through its REST API (GET URL/api/list/LIST/emails/, following `next`
// when the site pages its answers), matched by Message-ID (HyperKitty keeps
// it without the angle brackets). The API lists a public list's archive to
// anyone; a private list's only to a logged-in member, so verify names such
// a list as unreadable (the archiver key does not open the API).
//
// HyperKitty stores the Message-ID as Python's header parser reads it,
// which cuts an odd one short (<a@b.1@c> is stored as a@b.1): a retained
// record not found by its whole Message-ID is looked for under that reading
// too (confirm). A pruned one cannot be: it reads back as lost, and
// --repair gives it again, which HyperKitty answers as already held.

import { VerifyError } from "../errors.js";
import { baseUrl, readBounded } from "../sinks/hyperkitty.js";
import { findHeader, headerLines } from "../message/rfc5322.js";
import { HeldMessages, IndexedReadback } from "./readback-index.js";

/** Pages followed per list at most (a site paging 10 at a time: a million messages). */
const MAX_PAGES = 100_000;
/**
 * One answer's size at most: a whole list's index unpaged (~300 bytes a
 * message: over 200,000 messages). A broken or hostile server streaming
 * without end costs verify this much memory, not more.
 */
export const MAX_PAGE_BYTES = 64 * 1024 * 1024;
const TIMEOUT_MS = 120_000;

/**
 * The Message-ID as Python's email parser (policy=default) gives it to
 * HyperKitty: within the angle brackets, the part before the first "@",
 * "@", and the domain literal ([...]) or dot-atom after it, up to the first
 * character that cannot be in one (checked against HyperKitty's own
 * get_message_id: spec/verify/readback-hyperkitty.spec.ts). null: no
 * Message-ID.
 */
export function pythonReading(body: Buffer): string | null {
  const raw = findHeader(headerLines(body), "message-id");
  if (raw === undefined) return null;
  const inner = /<([^<>]*)>/.exec(raw)?.[1] ?? raw.trim();
  const m = /^([^@]*)@(\[[^\]]*\]|[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]*)/.exec(inner);
  return m ? `${m[1]}@${m[2]}` : inner;
}

export class HyperKittyReadback extends IndexedReadback {
  private readonly base: URL;

  constructor(sink: string, url: string) {
    super(sink);
    this.base = baseUrl(url);
  }

  /** Of retained records their whole Message-ID did not find, those HyperKitty holds under Python's reading of it. */
  async confirm(records: ReadonlyArray<{ list: string; seq: number; body: Buffer }>): Promise<Set<number>> {
    const found = new Set<number>();
    for (const r of records) {
      const id = pythonReading(r.body);
      if (id !== null && (await this.noteConfirmed(r.list, id))) found.add(r.seq);
    }
    return found;
  }

  protected async load(list: string): Promise<HeldMessages> {
    const held = new HeldMessages();
    let next: string | null = new URL(`api/list/${encodeURIComponent(list)}/emails/?format=json`, this.base).href;
    const seen = new Set<string>();
    for (let page = 0; next !== null; page++) {
      if (page === MAX_PAGES) throw this.failed(list, `more than ${MAX_PAGES} pages of messages`);
      // `next` comes from the server: followed only to HyperKitty itself, and never twice.
      if (new URL(next).origin !== this.base.origin) throw this.failed(list, `its next page is on another site (${new URL(next).origin})`);
      if (seen.has(next)) throw this.failed(list, `its pages loop back to ${next}`);
      seen.add(next);
      const body = await this.get(list, next);
      const items = Array.isArray(body) ? body : (body as { results?: unknown }).results;
      if (!Array.isArray(items)) throw this.failed(list, "its answer is not a list of messages");
      for (const item of items as Array<{ message_id?: unknown }>) {
        if (typeof item.message_id === "string") held.add(held.count, item.message_id);
      }
      const link = Array.isArray(body) ? null : (body as { next?: unknown }).next;
      next = typeof link === "string" && link !== "" ? link : null;
    }
    return held;
  }

  private async get(list: string, url: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (err) {
      throw this.failed(list, `cannot reach HyperKitty: ${(err as Error).message}`);
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return []; // HyperKitty has never archived a message of this list
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw this.failed(list, `HyperKitty answers ${response.status}: a private list's archive is readable only by a logged-in member`);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw this.failed(list, `HyperKitty answers ${response.status}`);
    }
    const { text, whole } = await readBounded(response, MAX_PAGE_BYTES);
    if (!whole) throw this.failed(list, `an answer over ${MAX_PAGE_BYTES / 2 ** 20} MiB`);
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw this.failed(list, `its answer is not JSON: ${(err as Error).message}`);
    }
  }

  private failed(list: string, why: string): VerifyError {
    return new VerifyError("VERIFY_FAILED", `cannot read back list ${list} from ${this.sink}: ${why}`);
  }
}
