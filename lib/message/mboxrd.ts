// mboxrd quoting: a body line matching /^>*From / gets one more ">" when
// written to an mbox, and loses it when read back, so every body survives
// byte for byte (the plain mbox format loses ">From " lines).

export const FROM_LINE = Buffer.from("From ");

/** One line of an mboxrd file as it was before quoting: /^>+From / loses one ">". */
export function unquoteMboxrdLine(line: Buffer): Buffer {
  let i = 0;
  while (i < line.length && line[i] === 0x3e) i++; // '>'
  if (i > 0 && line.subarray(i, i + FROM_LINE.length).equals(FROM_LINE)) return line.subarray(1);
  return line;
}

/** Quote a body for an mboxrd file: every line matching /^>*From / gets one more ">". */
export function quoteMboxrd(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  while (start < body.length) {
    const nl = body.indexOf(10, start);
    const end = nl < 0 ? body.length : nl + 1;
    const line = body.subarray(start, end);
    let i = 0;
    while (i < line.length && line[i] === 0x3e) i++;
    if (line.subarray(i, i + FROM_LINE.length).equals(FROM_LINE)) parts.push(GT);
    parts.push(line);
    start = end;
  }
  return Buffer.concat(parts);
}

const GT = Buffer.from(">");
