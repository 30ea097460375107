// Ask public-inbox itself which messages an inbox holds, with its own Perl
// modules (public-inbox-perl.ts: one perl kept running, one request per
// batch), the way public-inbox-mda finds the inbox and dedupes. For each
// (list, message) the answer says which inbox the list's messages go to and
// whether that inbox holds the message, compared by public-inbox's content
// hash (PublicInbox::ContentHash), never by Message-ID alone: a v2 inbox
// keeps a second message under a known Message-ID when the content differs.
//
// Lookup: a list name with "@" is the posting address, looked up as -mda
// looks up ORIGINAL_RECIPIENT (publicinbox.NAME.address, any case); one
// without "@" is taken for the inbox NAME itself (publicinbox.NAME), whose
// first address is then the recipient.
//
// The content hashed is what -mda would store: the leading "From " line
// cut, then the inbox's filter applied (-mda's default, the strict
// PublicInbox::Filter::Base, when none is set). -mda only adds List-Id
// (not hashed) and, for a message without one, a Message-ID
// (digest2mid(content_digest), from the Date, else Received, else the time
// of import: then only its digest part is known, and the msgid table is
// searched for it).
//
// Measured here (2 busy cores): starting perl with the modules takes
// ~0.3 s (about half of what one public-inbox-mda costs); a request for one
// message 4-6 ms (median of 20; 100 ms when each request re-read the config
// and started git cat-file). The subscriber hands a sink this slow one
// record per batch, so a perl per batch would have doubled the cost of each
// message.

import { access } from "node:fs/promises";
import { SinkError } from "../errors.js";
import { Coprocess } from "./coprocess.js";
import { CHECK_SCRIPT } from "./public-inbox-perl.js";

export type InboxCheck =
  | { status: "unknown" }
  /** Trouble with the inbox (its index, its filter): worth waiting for. */
  | { status: "error"; error: string; inbox?: string }
  /** public-inbox cannot parse or hash this message: no later attempt will. */
  | { status: "unreadable"; error: string; inbox: string }
  | {
      status: "stored" | "absent";
      inbox: string;
      /** The inbox's first address: ORIGINAL_RECIPIENT for a list named after the inbox. */
      address: string;
      /** The filter -mda applies; its verdict when it will not store the message as is. */
      filter: string;
      verdict?: "reject" | "ignore";
      reason?: string;
      /** content_hash, hex. */
      hash: string;
      /** The Message-ID it is (or would be) stored under. */
      mid: string;
    };

export interface CheckItem {
  list: string;
  body: Buffer;
}

/** Requests before the perl is replaced by a fresh one (its memory never grows for long). */
const RECYCLE_AFTER = 1000;

export class InboxChecker {
  private perl: Coprocess | null = null;
  private requests = 0;

  constructor(
    private readonly config: string,
    private readonly timeoutMs = 0,
  ) {}

  /** The answer for each item, in order. Any trouble getting it is a temporary SinkError. */
  async check(items: readonly CheckItem[]): Promise<InboxCheck[]> {
    try {
      await access(this.config);
    } catch (err) {
      throw new SinkError(`public-inbox config ${this.config} cannot be read (${(err as Error).message}): set PI_CONFIG or give public-inbox:PATH`, { transient: true, cause: err });
    }
    const failed = (what: string): SinkError =>
      new SinkError(`cannot look into the public-inbox inboxes of ${this.config}: ${what} (is public-inbox installed?)`, { transient: true });
    const perl = (this.perl ??= new Coprocess("perl", ["-e", CHECK_SCRIPT], { ...process.env, PI_CONFIG: this.config }));
    const request = Buffer.concat([
      Buffer.from(`${items.length}\n`),
      ...items.flatMap(({ list, body }) => [Buffer.from(`${Buffer.byteLength(list)} ${body.length}\n${list}`), body]),
    ]);
    let line: string;
    try {
      line = await perl.ask(request, this.timeoutMs);
    } catch (err) {
      this.perl = null;
      perl.kill();
      throw failed((err as Error).message);
    }
    if (++this.requests >= RECYCLE_AFTER) await this.close();
    return parseAnswers(line, items.length, failed);
  }

  async close(): Promise<void> {
    const perl = this.perl;
    this.perl = null;
    this.requests = 0;
    await perl?.stop();
  }
}

function parseAnswers(line: string, count: number, failed: (what: string) => SinkError): InboxCheck[] {
  let value: { ok?: unknown; answers?: unknown; error?: unknown };
  try {
    value = JSON.parse(line) as typeof value;
  } catch {
    throw failed(`not JSON: ${line.slice(0, 200)}`);
  }
  if (value.ok !== true) throw failed(String(value.error ?? "no answer").trim());
  if (!Array.isArray(value.answers) || value.answers.length !== count) throw failed(`not ${count} answers: ${line.slice(0, 200)}`);
  return value.answers.map((answer) => parseCheck(answer, failed));
}

function parseCheck(value: unknown, failed: (what: string) => SinkError): InboxCheck {
  const v = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const str = (key: string): string => (typeof v[key] === "string" ? (v[key] as string) : "");
  switch (v.status) {
    case "unknown":
      return { status: "unknown" };
    case "error":
      return { status: "error", error: str("error").trim(), ...(v.inbox === undefined ? {} : { inbox: str("inbox") }) };
    case "unreadable":
      return { status: "unreadable", error: str("error").trim(), inbox: str("inbox") };
    case "stored":
    case "absent": {
      const verdict = v.verdict === "reject" || v.verdict === "ignore" ? { verdict: v.verdict as "reject" | "ignore", reason: str("reason") } : {};
      return { status: v.status, inbox: str("inbox"), address: str("address"), filter: str("filter"), hash: str("hash"), mid: str("mid"), ...verdict };
    }
    default:
      throw failed(`unexpected answer: ${JSON.stringify(value).slice(0, 200)}`);
  }
}
