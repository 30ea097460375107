// What serve and subscribe share as daemons: stop cleanly on SIGTERM/SIGINT,
// and exit with the status of whatever stopped the engine.

import { EXIT, MqArchiveError, errorMessage } from "../lib/errors.js";
import type { Logger } from "../lib/log.js";

export interface Engine {
  close(): Promise<void>;
  closed(): Promise<{ type: "closed" } | { type: "failed"; error: Error }>;
}

export async function runUntilStopped(engine: Engine, log: Logger): Promise<number> {
  const stop = (signal: NodeJS.Signals): void => {
    log.info({ signal }, "stopping");
    void engine.close();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  const reason = await engine.closed();
  if (reason.type === "closed") return EXIT.OK;
  process.stderr.write(`mq-archive: ${errorMessage(reason.error)}\n`);
  return reason.error instanceof MqArchiveError ? reason.error.exitStatus : EXIT.SOFTWARE;
}
