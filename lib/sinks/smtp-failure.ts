// What an SMTP failure means for the record: temporary (retried in order
// until it passes) or permanent (a few attempts, then a dead letter).
// RFC 5321 §4.2.1: a 4yz reply is a transient failure, a 5yz permanent.
//
// A permanent failure is the message's only inside a mail transaction
// (MAIL FROM, RCPT TO, DATA): there the server judges this envelope or
// this message. Before it (greeting, EHLO, STARTTLS, AUTH) a 5yz says the
// server or our settings are wrong, whatever the message: making that a
// dead letter would set every record aside in turn, so it is waited out
// as temporary, logged with the server's text until someone fixes it. So
// is 530 wherever it comes (RFC 4954 §6, RFC 3207 §4: authentication or
// STARTTLS required): servers say it to MAIL FROM, and it is about us.

import { SinkError } from "../errors.js";

/** The fields nodemailer puts on its errors (smtp-connection _formatError). */
interface SmtpClientError {
  code?: unknown;
  responseCode?: unknown;
  command?: unknown;
}

const TRANSACTION = new Set(["MAIL FROM", "RCPT TO", "DATA"]);
const AUTH_REQUIRED = 530;

/** The SinkError for `err`, met sending a record after `stored` records were stored through `server`. */
export function smtpFailure(err: unknown, server: string, stored: number): SinkError {
  const { transient, message } = judge(err, server);
  return new SinkError(message, { transient, stored, cause: err });
}

function judge(err: unknown, server: string): { transient: boolean; message: string } {
  const e = (typeof err === "object" && err !== null ? err : {}) as SmtpClientError;
  const text = err instanceof Error ? err.message : String(err);
  const reply = typeof e.responseCode === "number" ? e.responseCode : null;
  const command = typeof e.command === "string" ? e.command : "";
  const inTransaction = TRANSACTION.has(command);
  if (reply !== null && reply >= 500 && reply < 600) {
    if (inTransaction && reply !== AUTH_REQUIRED) return { transient: false, message: `${server} refused the message (${command}): ${text}` };
    return { transient: true, message: `${server} refused the session (${command}), whatever the message: check --smtp-url and the server: ${text}` };
  }
  if (reply !== null && reply >= 400 && reply < 500) {
    return { transient: true, message: `${server} deferred the message (${command}), a temporary failure: ${text}` };
  }
  // Refused before sending: larger than the SIZE the server announced (RFC 1870).
  if (e.code === "EMESSAGE" && command === "MAIL FROM") return { transient: false, message: `${server} cannot take the message: ${text}` };
  if (e.code === "ETIMEDOUT") return { transient: true, message: `${server} did not answer within --smtp-timeout: ${text}` };
  return { transient: true, message: `cannot deliver through ${server}: ${text}` };
}
