// The single-record path Mailman calls once per post (or per list event):
// validate, commit to the outbox with a full fsync, report the seq. Kept
// free of ZeroMQ and logging so a cold `mq-archive publish` starts fast.

import { createRequire } from "node:module";
import { parseEvent, type EventDefaults, type EventRecord, type ListEvent } from "../message/event.js";
import { acceptMessage, validateListName } from "../message/rfc5322.js";
import type { AppendResult, RecordLog } from "../store/record-log.js";

export interface PublishResult extends AppendResult {
  messageId: string;
  derivedId: boolean;
}

/** Commit one message. Throws InvalidMessageError (exit 65) or OutboxError. */
export function publishMessage(records: Pick<RecordLog, "append">, list: string, body: Buffer, maxSize: number): PublishResult {
  validateListName(list);
  const accepted = acceptMessage(body, maxSize);
  const result = records.append({ list, messageId: accepted.messageId, body });
  return { ...result, ...accepted };
}

export interface PublishEventResult extends AppendResult {
  event: ListEvent;
}

/** An event without an id gets a random UUID; one without a time, now. */
export const EVENT_DEFAULTS: EventDefaults = {
  // node:crypto is loaded only when needed, as in rfc5322: a cold `publish` of a message never pays for it.
  id: () => (createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto")).randomUUID(),
  at: () => new Date().toISOString(),
};

/**
 * Commit one list event from its JSON: the same id again (on its list)
 * finds the stored one. Throws InvalidMessageError (exit 65) or OutboxError.
 */
export function publishEvent(records: Pick<RecordLog, "append">, json: Buffer, defaults: EventDefaults = EVENT_DEFAULTS): PublishEventResult {
  return commitEvent(records, parseEvent(json, defaults));
}

/** Commit an event parseEvent accepted. */
export function commitEvent(records: Pick<RecordLog, "append">, record: EventRecord): PublishEventResult {
  const { list, messageId, body, event } = record;
  return { ...records.append({ kind: "event", list, messageId, body }), event };
}
