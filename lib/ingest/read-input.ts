// Read one message from a file or a stream without ever holding more than
// the size limit in memory.

import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { InvalidMessageError, NoInputError } from "../errors.js";

/** Synchronous on purpose: `publish` runs once per post, and the thread pool costs more than the read. */
export function readMessageFile(path: string, maxSize: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new NoInputError(`cannot read message file ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new NoInputError(`cannot read message file ${path}: not a regular file`);
    if (stats.size > maxSize) throw tooLarge(stats.size, maxSize);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

export async function readMessageStream(stream: NodeJS.ReadableStream & { isTTY?: boolean }, maxSize: number): Promise<Buffer> {
  if (stream.isTTY) {
    throw new NoInputError("no message given: pass a FILE or pipe the message on standard input");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk;
    size += buf.length;
    if (size > maxSize) throw tooLarge(size, maxSize, true);
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(size: number, max: number, atLeast = false): InvalidMessageError {
  const what = atLeast ? "larger than" : `${size} bytes, over`;
  return new InvalidMessageError("TOO_LARGE", `the message is ${what} the limit of ${max} bytes (--max-size)`);
}
