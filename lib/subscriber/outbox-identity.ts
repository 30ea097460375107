// What a subscriber says when the outbox it follows is not the one it
// finds: replaced by a new database, or rolled back to an older copy, or
// named by an id that is no outbox id at all. It stops instead of skipping
// or archiving again, and says what to do.

import { NotAuthorizedError, OutboxReplacedError, ProtocolError, type MqArchiveError } from "../errors.js";
import type { ErrorFrame } from "../wire/frames.js";

/** An outbox id is the random UUID its database was created with (store/outbox-schema.ts). */
const OUTBOX_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isOutboxId(id: string): boolean {
  return OUTBOX_ID.test(id);
}

/**
 * Null for a well-formed outbox id, else the error to stop with. The id
 * comes from the publisher and ends up in file names (maildir names, the
 * state), so anything but a UUID is refused before it is used.
 */
export function malformedOutboxError(id: string): ProtocolError | null {
  if (isOutboxId(id)) return null;
  const shown = JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id);
  return new ProtocolError(
    "BAD_FRAME",
    `the publisher names its outbox ${shown}, which is not an outbox id (a UUID such as 5f0c2a9e-1b7d-4c3e-9a51-0d2e6f7a8b90): ` +
      "refusing to follow it. Is the endpoint an mq-archive serve?",
  );
}

export interface Followed {
  outbox: string | null;
  /** Stored up to this seq. */
  position: number;
}

export function replacedError(followed: Followed, actual: string): OutboxReplacedError {
  return new OutboxReplacedError(
    `the publisher's outbox was replaced: it is now ${actual}, but this subscriber followed ${followed.outbox} ` +
      `up to seq ${followed.position}. Nothing from the new outbox was archived. If the replacement is intended, ` +
      `restart with --accept-outbox ${actual}: messages already archived (by Message-ID) are skipped, the rest archived.`,
  );
}

/**
 * Null when a welcome may open a session for a subscriber that followed
 * `followed`, else the error to stop with: the outbox id is malformed (it
 * names files: a hostile publisher's "../x" must not), another outbox than
 * the one followed, or one whose head is behind what we stored.
 */
export function welcomeRefusal(w: { outbox: string; head: number }, followed: Followed): MqArchiveError | null {
  const malformed = malformedOutboxError(w.outbox);
  if (malformed !== null) return malformed;
  if (followed.outbox !== null && followed.outbox !== w.outbox) return replacedError(followed, w.outbox);
  return w.head < followed.position ? aheadError(followed, w.head) : null;
}

/** The typed error a subscriber stops with when the publisher answers with a code whose action is `stop`. */
export function stopError(e: ErrorFrame, followed: Followed): MqArchiveError {
  switch (e.code) {
    case "OUTBOX_MISMATCH":
      return replacedError(followed, e.detail ?? "unknown");
    case "POSITION_AHEAD":
      return aheadError(followed, Number(e.detail ?? "0"));
    case "NOT_AUTHORIZED":
      return new NotAuthorizedError(`the publisher refused us: ${e.message}`);
    default:
      return new ProtocolError("BAD_VERSION", `the publisher refused us (${e.code}): ${e.message}`);
  }
}

export function aheadError(followed: Followed, head: number): OutboxReplacedError {
  return new OutboxReplacedError(
    `this subscriber stored outbox ${followed.outbox} up to seq ${followed.position}, but the publisher's head is ${head}: ` +
      `was the outbox restored from an older backup? Refusing to continue, which could skip new records. ` +
      `Start this subscriber with a fresh --state to read the outbox again (messages archived before are then archived again).`,
  );
}
