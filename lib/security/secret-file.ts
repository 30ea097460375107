// Reading a file that holds a secret (a CURVE key, HyperKitty's archiver
// key): its text and the status of the very file read, so its permissions
// are judged on what was read, not on whatever the path names by then.

import { closeSync, fstatSync, openSync, readFileSync, type Stats } from "node:fs";
import { ConfigError } from "../errors.js";

/** The file's text and status; `what` names it in the error when it cannot be read. */
export function readSecretFile(file: string, what: string): { text: string; stats: Stats } {
  try {
    const fd = openSync(file, "r");
    try {
      const stats = fstatSync(fd);
      return { text: readFileSync(fd, "utf8"), stats };
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}
