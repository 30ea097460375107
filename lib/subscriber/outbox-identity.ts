// What a subscriber says when the outbox it follows is not the one it
// finds: replaced by a new database, or rolled back to an older copy. It
// stops instead of skipping or archiving again, and says what to do.

import { OutboxReplacedError } from "../errors.js";

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

export function aheadError(followed: Followed, head: number): OutboxReplacedError {
  return new OutboxReplacedError(
    `this subscriber stored outbox ${followed.outbox} up to seq ${followed.position}, but the publisher's head is ${head}: ` +
      `was the outbox restored from an older backup? Refusing to continue, which could skip new records. ` +
      `Start this subscriber with a fresh --state to read the outbox again (messages archived before are then archived again).`,
  );
}
