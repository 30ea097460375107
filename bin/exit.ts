// How every command ends: a message a person can act on, on stderr, and a
// sysexits status from the error's class.

import { EXIT, errorMessage, isMqArchiveError } from "../lib/errors.js";

export function fail(err: unknown): never {
  const ours = isMqArchiveError(err);
  process.stderr.write(`${ours ? "mq-archive" : "mq-archive: internal error"}: ${errorMessage(err)}\n`);
  if (!ours && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(ours ? err.exitStatus : EXIT.SOFTWARE);
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
