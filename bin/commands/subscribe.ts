// `mq-archive subscribe`: the archive peer daemon.

import { SUBSCRIBE_OPTIONS } from "../../lib/config/commands.js";
import type { Resolved } from "../../lib/config/spec.js";
import { UsageError } from "../../lib/errors.js";
import { createLogger } from "../../lib/log.js";
import { validateEndpoint } from "../../lib/publisher/endpoints.js";
import { parseSink } from "../../lib/sinks/parse.js";
import { Subscriber } from "../../lib/subscriber/subscriber.js";
import { runUntilStopped } from "../daemon.js";

export async function runSubscribe(opts: Resolved<typeof SUBSCRIBE_OPTIONS>): Promise<number> {
  if (!opts.insecure) {
    throw new UsageError(
      "subscribe encrypts and authenticates its link, and no keys are configured: pass --insecure to connect in " +
        "plaintext (only on loopback or a trusted network)",
    );
  }
  const connect = validateEndpoint(opts.connect, "--connect");
  const sinks = opts.sink.map((spec) => parseSink(spec, { timeoutMs: opts["exec-timeout"] }));
  const log = createLogger(opts["log-level"]);
  const subscriber = new Subscriber({
    connect,
    state: opts.state,
    sinks,
    lists: opts.lists ?? null,
    ...(opts.name === undefined ? {} : { name: opts.name }),
    creditBytes: opts.credit,
    maxAttempts: opts["exec-retries"],
    ...(opts["accept-outbox"] === undefined ? {} : { acceptOutbox: opts["accept-outbox"] }),
    log,
  });
  await subscriber.start();
  log.warn("connected without encryption or authentication (--insecure)");
  return runUntilStopped(subscriber, log);
}
