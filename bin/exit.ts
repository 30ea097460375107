// How every command ends: a message a person can act on, on stderr, and a
// sysexits status from the error's class.

import { EXIT, MqArchiveError, errorMessage } from "../lib/errors.js";

export function fail(err: unknown): never {
  const status = err instanceof MqArchiveError ? err.exitStatus : EXIT.SOFTWARE;
  const prefix = err instanceof MqArchiveError ? "mq-archive" : "mq-archive: internal error";
  process.stderr.write(`${prefix}: ${errorMessage(err)}\n`);
  if (!(err instanceof MqArchiveError) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(status);
}

/** Run a command body; any error ends the process with its exit status. */
export async function runCommand(body: () => Promise<number | void>): Promise<void> {
  try {
    const status = await body();
    process.exitCode = status ?? EXIT.OK;
  } catch (err) {
    fail(err);
  }
}
