// `mq-archive dead-letters retry`: between batches, the deliverer tries each
// dead letter an operator marked once more, in the sink it failed in.

import { errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import type { Sink } from "../sinks/sink.js";
import type { SubscriberState } from "../store/state.js";

export interface RetryContext {
  state: SubscriberState;
  sinks: readonly Sink[];
  log: Logger;
  closing: () => boolean;
  /** Run a state write, waiting out a full disk or a lock. */
  patiently: (write: () => void) => Promise<void>;
}

/** One attempt per dead letter marked for retry. */
export async function retryDeadLetters(c: RetryContext): Promise<void> {
  for (const dead of c.state.pendingRetries()) {
    if (c.closing()) return;
    const sink = c.sinks.find((s) => s.name === dead.sink);
    const fields = { id: dead.id, sink: dead.sink, seq: dead.seq, list: dead.list, messageId: dead.messageId };
    if (sink === undefined) {
      c.state.failedRetry(dead.id, `this subscriber has no sink ${dead.sink} any more`);
      c.log.error(fields, "dead letter not retried: its sink is not configured");
      continue;
    }
    try {
      const { outbox, seq, kind, list, messageId, receivedAt, body } = dead;
      await sink.store([{ outbox, seq, kind, list, messageId, receivedAt, body }]);
    } catch (err) {
      c.state.failedRetry(dead.id, errorMessage(err));
      c.log.error({ ...fields, err }, "dead letter failed again; it stays in the dead-letter store");
      continue;
    }
    // Stored: it must now leave the dead-letter store, or a later retry would store it twice.
    await c.patiently(() => c.state.resolveDeadLetter(dead.id));
    c.log.info(fields, "dead letter delivered on retry");
  }
}
