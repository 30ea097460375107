// Stream the messages out of an mbox file: split at "From " lines, drop the
// envelope line and the separating blank line, undo mboxrd quoting
// (">From " → "From ", ">>From " → ">From "). Memory stays at one message.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { NoInputError } from "../errors.js";
import { FROM_LINE, unquoteMboxrdLine as unquote } from "../message/mboxrd.js";

export interface MboxMessage {
  /** 1-based position in the file, for error reports. */
  index: number;
  body: Buffer;
}


export async function* readMbox(path: string): AsyncGenerator<MboxMessage> {
  try {
    if (!(await stat(path)).isFile()) throw new Error("not a regular file");
  } catch (err) {
    throw new NoInputError(`cannot read mbox ${path}: ${(err as Error).message}`, { cause: err });
  }
  let pending: Buffer = Buffer.alloc(0);
  let current: Buffer[] = [];
  let started = false;
  let index = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    pending = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer]);
    let lineStart = 0;
    for (;;) {
      const nl = pending.indexOf(10, lineStart);
      if (nl < 0) break;
      const line = pending.subarray(lineStart, nl + 1);
      lineStart = nl + 1;
      if (isFromLine(line)) {
        if (started) yield { index: ++index, body: finish(current) };
        started = true;
        current = [];
      } else if (started) {
        current.push(line);
      }
    }
    pending = pending.subarray(lineStart);
  }
  if (pending.length > 0 && started) current.push(pending);
  if (started) yield { index: ++index, body: finish(current) };
}

function isFromLine(line: Buffer): boolean {
  return line.length >= FROM_LINE.length && line.subarray(0, FROM_LINE.length).equals(FROM_LINE);
}

/** Join a message's lines, drop the blank separator line, undo mboxrd quoting. */
function finish(lines: Buffer[]): Buffer {
  const last = lines[lines.length - 1];
  if (last !== undefined && isBlankLine(last)) lines.pop();
  return Buffer.concat(lines.map(unquote));
}

function isBlankLine(line: Buffer): boolean {
  return (line.length === 1 && line[0] === 10) || (line.length === 2 && line[0] === 13 && line[1] === 10);
}

