// `mq-archive serve`: the publisher daemon beside Mailman.

import { SERVE_OPTIONS } from "../../lib/config/commands.js";
import type { Resolved } from "../../lib/config/spec.js";
import { OutboxError, UsageError } from "../../lib/errors.js";
import { createLogger } from "../../lib/log.js";
import { derivePubEndpoint, validateEndpoint } from "../../lib/publisher/endpoints.js";
import { Publisher } from "../../lib/publisher/publisher.js";
import { Outbox } from "../../lib/store/outbox.js";
import { runUntilStopped } from "../daemon.js";

export async function runServe(opts: Resolved<typeof SERVE_OPTIONS>): Promise<number> {
  if (!opts.insecure) {
    throw new UsageError(
      "serve encrypts and authenticates every link, and no keys are configured: pass --insecure to run in plaintext " +
        "(only on loopback or a trusted network)",
    );
  }
  const bind = validateEndpoint(opts.bind, "--bind");
  const pubBind = validateEndpoint(opts["pub-bind"] ?? derivePubEndpoint(bind), "--pub-bind");
  const log = createLogger(opts["log-level"]);
  const outbox = Outbox.open(opts.db, { durability: "normal" });
  const problem = outbox.check();
  if (problem !== null) {
    outbox.close();
    throw new OutboxError("OUTBOX_CORRUPT", `outbox ${opts.db} failed its integrity check: ${problem}; restore it from a backup`);
  }
  const publisher = new Publisher({
    outbox,
    bind,
    pubBind,
    heartbeatMs: opts.heartbeat,
    retainMs: opts.retain,
    log,
  });
  try {
    await publisher.start();
  } catch (err) {
    outbox.close();
    throw new UsageError(`cannot listen on ${bind} / ${pubBind}: ${(err as Error).message}`, { cause: err });
  }
  log.warn("running without encryption or authentication (--insecure)");
  const status = await runUntilStopped(publisher, log);
  outbox.close();
  return status;
}
