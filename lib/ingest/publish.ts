// The single-message path Mailman calls once per post: validate, commit to
// the outbox with a full fsync, report the seq. Kept free of ZeroMQ and
// logging so a cold `mq-archive publish` starts fast.

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
