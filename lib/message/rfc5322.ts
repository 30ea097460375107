// Just enough RFC 5322 to accept a message: find its header block, read its
// Message-ID, and derive a stable id when it has none (or none usable). The
// bytes are never modified; everything here reads.

import { createRequire } from "node:module";
import { InvalidMessageError } from "../errors.js";

export const DEFAULT_MAX_SIZE = 64 * 1024 * 1024;

/** List names become file names in sinks, so they are kept to a safe alphabet. */
const LIST_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+=-]{0,254}$/;

export interface AcceptedMessage {
  messageId: string;
  /** True when the message had no usable Message-ID and one was derived from its content. */
  derivedId: boolean;
}

/** The longest Message-ID kept (RFC 5322's line limit less the field name); a longer one is cut. */
const MAX_MESSAGE_ID = 995;

/**
 * ASCII control characters (NUL to US, DEL). A Message-ID holding one is not
 * used: it reaches archivers' environments, file names and logs, and NUL
 * cannot be put into a process environment at all.
 */
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * Whether `id` can be used as a record's Message-ID: 1 to 995 characters, no
 * ASCII control character, not starting with `event:` (the ids of list
 * events, lib/message/event.ts: a message must not pass for one). Other
 * bytes (UTF-8 included) are kept as they are.
 */
export function isUsableMessageId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_MESSAGE_ID && !CONTROL.test(id) && !id.startsWith("event:");
}

export function validateListName(list: string): string {
  if (!LIST_NAME.test(list) || list.includes("..")) {
    throw new InvalidMessageError(
      "BAD_LIST",
      `invalid list name ${JSON.stringify(list)}: use letters, digits and . _ @ + = - (at most 255, not starting with a symbol)`,
    );
  }
  return list;
}

/** Check that `body` looks like an RFC 5322 message and find its Message-ID. */
export function acceptMessage(body: Buffer, maxSize = DEFAULT_MAX_SIZE): AcceptedMessage {
  if (body.length === 0) throw new InvalidMessageError("EMPTY_MESSAGE", "the message is empty");
  if (body.length > maxSize) {
    throw new InvalidMessageError("TOO_LARGE", `the message is ${body.length} bytes, over the limit of ${maxSize}`);
  }
  const headers = headerLines(body);
  if (headers.length === 0) {
    throw new InvalidMessageError("NO_HEADERS", "the message does not start with a header block (Name: value lines)");
  }
  // A missing, empty or unusable Message-ID (control characters) is replaced by one derived from the
  // content, the same for every path that ingests a message; the bytes are never modified.
  const raw = findHeader(headers, "message-id");
  const id = raw === undefined ? "" : normalizeMessageId(raw);
  if (isUsableMessageId(id)) return { messageId: id, derivedId: false };
  return { messageId: derivedMessageId(body), derivedId: true };
}

/** A stable id for a message without a usable one: the same bytes always give the same id. */
export function derivedMessageId(body: Buffer): string {
  // node:crypto is loaded only here: `publish` starts faster without it, and most messages have an id.
  const { createHash } = createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto");
  return `<${createHash("sha256").update(body).digest("hex")}@mq-archive.invalid>`;
}

function normalizeMessageId(value: string): string {
  const unfolded = value.replace(/\r?\n[ \t]+/g, " ").trim();
  const bracketed = /<[^<>\s]+>/.exec(unfolded);
  const id = bracketed ? bracketed[0] : unfolded;
  return id.length > MAX_MESSAGE_ID ? id.slice(0, MAX_MESSAGE_ID) : id;
}

const FIELD = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/;

/**
 * The header fields at the start of the message, unfolded into one string
 * each. An mbox "From " envelope line in front is skipped. Returns an empty
 * array when the message does not start with a header field.
 */
export function headerLines(body: Buffer): string[] {
  // Headers are ASCII by standard; latin1 maps each byte to one char, so no byte is lost.
  const end = headerEnd(body);
  const lines = body.subarray(0, end).toString("latin1").split(/\r?\n/);
  if (lines[0]?.startsWith("From ")) lines.shift();
  const fields: string[] = [];
  for (const line of lines) {
    if (line === "") break;
    if ((line.startsWith(" ") || line.startsWith("\t")) && fields.length > 0) {
      fields[fields.length - 1] += `\n${line}`;
    } else if (FIELD.test(line)) {
      fields.push(line);
    } else {
      break;
    }
  }
  return fields;
}

function headerEnd(body: Buffer): number {
  const crlf = body.indexOf("\r\n\r\n");
  const lf = body.indexOf("\n\n");
  const ends = [crlf, lf].filter((i) => i >= 0);
  return ends.length === 0 ? Math.min(body.length, 1024 * 1024) : Math.min(...ends);
}

export function findHeader(fields: readonly string[], name: string): string | undefined {
  for (const field of fields) {
    const colon = field.indexOf(":");
    if (field.slice(0, colon).trim().toLowerCase() === name) return field.slice(colon + 1);
  }
  return undefined;
}
