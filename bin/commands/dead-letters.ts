// `mq-archive dead-letters --state PATH list | show ID | retry ID | retry --all`

import { DEAD_LETTERS_OPTIONS } from "../../lib/config/commands.js";
import type { Resolved } from "../../lib/config/spec.js";
import { deadLetterViews, formatDeadLetters } from "../../lib/status/subscriber.js";
import { EXIT, NoInputError, UsageError } from "../../lib/errors.js";
import { SubscriberState } from "../../lib/store/state.js";

export async function runDeadLetters(
  opts: Resolved<typeof DEAD_LETTERS_OPTIONS>,
  action: string,
  id: string | undefined,
): Promise<number> {
  const state = SubscriberState.open(opts.state, { create: false });
  try {
    switch (action) {
      case "list": {
        const views = deadLetterViews(state);
        process.stdout.write(opts.json ? `${JSON.stringify(views, null, 2)}\n` : formatDeadLetters(views));
        return EXIT.OK;
      }
      case "show": {
        const dead = state.deadLetters().find((d) => d.id === parseId(id));
        if (dead === undefined) throw new NoInputError(`no dead letter ${id} in ${opts.state}`);
        process.stdout.write(dead.body);
        return EXIT.OK;
      }
      case "retry": {
        if (opts.all === (id !== undefined)) throw new UsageError("retry takes an ID or --all");
        const marked = state.requestRetry(opts.all ? "all" : parseId(id));
        if (marked === 0) throw new NoInputError(opts.all ? "no dead letters to retry" : `no dead letter ${id} in ${opts.state}`);
        process.stdout.write(`marked ${marked} for retry; the running subscriber retries within a second (or when it next starts)\n`);
        return EXIT.OK;
      }
      default:
        throw new UsageError(`unknown action ${JSON.stringify(action)}: use list, show ID, retry ID or retry --all`);
    }
  } finally {
    state.close();
  }
}

function parseId(id: string | undefined): number {
  const n = Number(id);
  if (id === undefined || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${JSON.stringify(id)} is not a dead-letter ID`);
  return n;
}
