// hyperkitty:URL — archive each message in HyperKitty (URL: its base, e.g.
// https://archives.example.org/hyperkitty/) as Mailman's own plugin
// (mailman-hyperkitty) does: POST URL/api/mailman/archive with
// `Authorization: Token KEY` (KEY from --hyperkitty-key-file, never from the
// command line) and a multipart body: `mlist`, the list's full address, and
// `message`, the exact bytes, as a file part (a plain field gets 400).
// List events pass by: HyperKitty archives messages only.
//
// HyperKitty 1.3.7's answers (hyperkitty-answer.ts; checked on Debian 12):
//   200       stored, or already held: a known Message-ID answers 200 and is not stored again
//   400       refused for good (no Message-ID, a non-ASCII sender): a dead letter with its text
//   401, 403  the key is wrong, or this host is not in MAILMAN_ARCHIVER_FROM: a configuration
//             problem, said once (log, status --state); paused, retried
//   5xx, no answer, refused connection: temporary, retried. HyperKitty may have stored the
//             message before a 5xx; the retry then answers 200 as for a duplicate.
//
// HTTP is Node's own fetch (undici): FormData and Blob make the multipart
// body with no dependency, http: and https: alike, and its pool keeps the
// connection alive between POSTs; AbortSignal.timeout bounds each POST.

import { ConfigError, SinkError, UsageError } from "../errors.js";
import { formatDuration } from "../config/units.js";
import { readSecretFile } from "../security/secret-file.js";
import { PAUSED, readAnswer, type Outcome, type Reading } from "./hyperkitty-answer.js";
import { storeKind, type Sink, type SinkContext, type SinkRecord } from "./sink.js";

export interface HyperKittyOptions {
  /** A file holding HyperKitty's MAILMAN_ARCHIVER_KEY. */
  hyperkittyKeyFile?: string;
  /** Give up on one POST after this long (ms): a temporary failure. */
  hyperkittyTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/**
 * HyperKitty answers in well under 1 KiB ({"url": ...}, or an error's text);
 * a proxy's error page is a few KiB. Past this, the rest of an answer is not
 * read: a broken or hostile server cannot make the peer buffer it.
 */
export const MAX_ANSWER_BYTES = 64 * 1024;

export class HyperKittySink implements Sink {
  readonly name: string;
  private readonly base: URL;
  private readonly endpoint: URL;
  private readonly keyFile: string;
  private readonly timeoutMs: number;
  /** null: read the key file (again) before the next POST. */
  private key: string | null = null;
  private context: SinkContext | null = null;

  constructor(url: string, options: HyperKittyOptions = {}) {
    this.base = baseUrl(url);
    this.endpoint = new URL("api/mailman/archive", this.base);
    this.name = `hyperkitty:${this.base.href}`;
    if (options.hyperkittyKeyFile === undefined || options.hyperkittyKeyFile === "") {
      throw new UsageError(`${this.name} needs --hyperkitty-key-file FILE: a file holding HyperKitty's MAILMAN_ARCHIVER_KEY`);
    }
    this.keyFile = options.hyperkittyKeyFile;
    this.timeoutMs = options.hyperkittyTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new UsageError("--hyperkitty-timeout must be more than 0: a POST without a limit could hang the peer");
  }

  /** A key file that cannot be used stops the start: a configuration error (exit 78). */
  async start(context: SinkContext): Promise<void> {
    this.context = context;
    this.key = readArchiverKey(this.keyFile);
  }

  async store(records: readonly SinkRecord[]): Promise<void> {
    await storeKind("message", records, (messages) => this.archiveAll(messages));
  }

  async close(): Promise<void> {}

  /** One POST at a time, in order: HyperKitty threads a reply under a parent it already holds. */
  private async archiveAll(records: readonly SinkRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i++) {
      const outcome = await this.archive(records[i]!);
      if (outcome.type === "stored") continue;
      throw new SinkError(outcome.message, { transient: outcome.transient, stored: i });
    }
  }

  private async archive(record: SinkRecord): Promise<Outcome> {
    if (!record.list.includes("@")) {
      // HyperKitty would answer 500 after storing it under a name no list has.
      return { type: "failed", transient: false, message: `HyperKitty archives lists by their full address (name@domain): ${JSON.stringify(record.list)} is none; not sent` };
    }
    let key: string;
    try {
      key = this.key ??= readArchiverKey(this.keyFile);
    } catch (err) {
      return this.problem(`${(err as Error).message} (read again at each retry); ${PAUSED}`);
    }
    const outcome = await this.post(record, key);
    if (outcome.type === "problem") {
      this.key = null; // a fixed key file is picked up on the next retry, without a restart
      return this.problem(outcome.message);
    }
    if (outcome.type === "stored" || outcome.heard) this.context?.problem(null);
    return outcome;
  }

  private problem(text: string): Outcome {
    this.context?.problem(text);
    return { type: "failed", transient: true, message: text };
  }

  private async post(record: SinkRecord, key: string): Promise<Reading> {
    const form = new FormData();
    form.append("mlist", record.list);
    form.append("message", new Blob([record.body], { type: "message/rfc822" }), "message.eml");
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: { Authorization: `Token ${key}` },
        body: form,
        redirect: "manual", // a redirect turns the POST into a GET: say so instead
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = (await readBounded(response, MAX_ANSWER_BYTES)).text;
    } catch (err) {
      return this.unreachable(err);
    }
    return readAnswer(
      { status: response.status, text, location: response.headers.get("location") },
      { url: this.endpoint.href, keyFile: this.keyFile },
    );
  }

  private unreachable(err: unknown): Reading {
    const e = err as Error & { cause?: { message?: string } };
    const url = this.endpoint.href;
    if (e.name === "TimeoutError") {
      const message = `no answer from HyperKitty at ${url} within ${formatDuration(this.timeoutMs)}; retrying (if it stored the message meanwhile, the retry answers 200)`;
      return { type: "failed", transient: true, message };
    }
    if (e.cause?.message === "bad port") {
      // The Fetch standard's blocked ports (6000, 6665-6669, 587, ...): fetch will never connect to one.
      return { type: "problem", message: `Node's fetch refuses to connect to port ${this.endpoint.port} (reserved for other protocols by the Fetch standard): serve HyperKitty on another port; ${PAUSED}` };
    }
    return { type: "failed", transient: true, message: `cannot reach HyperKitty at ${url}: ${e.cause?.message ?? e.message}; retrying` };
  }
}

/**
 * The answer's text, read to its end (so the kept-alive connection can
 * serve the next POST) unless it is longer than `limit` bytes: then the
 * first `limit` bytes (`whole` false), and the connection is dropped.
 */
export async function readBounded(response: Response, limit: number): Promise<{ text: string; whole: boolean }> {
  if (response.body === null) return { text: "", whole: true };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      break;
    }
  }
  return { text: Buffer.concat(chunks).subarray(0, limit).toString("utf8"), whole: size <= limit };
}

/** The base URL, ending in "/" so the API path joins under it; no credentials (they would show in logs). */
export function baseUrl(url: string): URL {
  let base: URL;
  try {
    base = new URL(url.endsWith("/") ? url : `${url}/`);
  } catch {
    throw new UsageError(`hyperkitty:${url}: not a URL; give HyperKitty's base, e.g. hyperkitty:https://archives.example.org/hyperkitty/`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new UsageError(`hyperkitty:${url}: give an http: or https: URL`);
  }
  if (base.username !== "" || base.password !== "" || base.search !== "" || base.hash !== "") {
    throw new UsageError(`hyperkitty:${url}: give HyperKitty's base URL alone (no user, password, query or fragment: the sink's name shows in logs)`);
  }
  return base;
}

/**
 * HyperKitty's MAILMAN_ARCHIVER_KEY from `file`: one token of printable
 * ASCII (HyperKitty splits the header on spaces, and a header cannot carry
 * control characters). A file every user may read is refused.
 */
export function readArchiverKey(file: string): string {
  const { text, stats } = readSecretFile(file, "the HyperKitty key file");
  const mode = stats.mode;
  if ((mode & 0o007) !== 0) {
    const shown = (mode & 0o777).toString(8).padStart(4, "0");
    throw new ConfigError(`${file}: permissions ${shown} let every user read HyperKitty's archiver key; run: chmod o-rwx ${file}`);
  }
  const key = text.trim();
  if (key === "") throw new ConfigError(`${file} is empty: put HyperKitty's MAILMAN_ARCHIVER_KEY in it`);
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new ConfigError(`${file} holds more than HyperKitty's MAILMAN_ARCHIVER_KEY (spaces, several lines or characters a header cannot carry): put the key alone in it`);
  }
  return key;
}
