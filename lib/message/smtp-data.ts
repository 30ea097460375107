// A message as SMTP carries it. SMTP content is lines ending in CR LF
// (RFC 5321 §2.3.8: CR and LF never alone), so the one change a message
// undergoes on its way is this: every line break, whether LF, CR LF or a
// lone CR, becomes CR LF, and a message not ending in a line break gets a
// CR LF at its end. Nothing else: headers, 8-bit bytes, NULs, long lines
// and "From " lines pass as they are. (Dot-stuffing is the client's, and
// the server undoes it.) Python's smtplib normalises the same way, so an
// archive receives what Mailman's own SMTP delivery sent list members.
//
// A lone CR is made a line break rather than sent bare: some servers take
// "<CR>.<CR><LF>" for the end of the data (SMTP smuggling), and the client
// dot-stuffs only after LF.

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from("\r\n");

/** `body` with every line break as CR LF and a final CR LF: the exact bytes an SMTP server receives as the message. */
export function smtpData(body: Buffer): Buffer {
  if (isSmtpData(body)) return body;
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (byte !== CR && byte !== LF) continue;
    parts.push(body.subarray(start, i), CRLF);
    if (byte === CR && body[i + 1] === LF) i++;
    start = i + 1;
  }
  if (start < body.length) parts.push(body.subarray(start), CRLF);
  return Buffer.concat(parts);
}

/** Whether `body` is already SMTP data: CR and LF only as CR LF, and a CR LF at the end. */
function isSmtpData(body: Buffer): boolean {
  if (body.length < 2 || body[body.length - 2] !== CR || body[body.length - 1] !== LF) return false;
  for (let i = body.indexOf(LF); i >= 0; i = body.indexOf(LF, i + 1)) if (body[i - 1] !== CR) return false;
  for (let i = body.indexOf(CR); i >= 0; i = body.indexOf(CR, i + 1)) if (body[i + 1] !== LF) return false;
  return true;
}

/** Whether `body` holds bytes above 127, which SMTP carries only with 8BITMIME (RFC 6152). */
export function hasEightBit(body: Buffer): boolean {
  for (let i = 0; i < body.length; i++) if (body[i]! > 0x7f) return true;
  return false;
}
