// What the smtp sink is told on the command line, checked before anything
// connects: the server URL (--smtp-url), the recipient (the spec's ADDRESS)
// and the envelope sender (--smtp-from). Pure: no I/O but the host name.
//
// Addresses are plain local@domain with a dot-atom local part: no display
// names, quoting or comments, so the address the operator wrote is exactly
// the one in RCPT TO (nodemailer before 7.0.7 misread quoted local parts
// holding "@": GHSA-mm7p-fcc7-pg87; this uses 10.x).

import { hostname } from "node:os";
import { UsageError } from "../errors.js";

export const DEFAULT_SMTP_URL = "smtp://127.0.0.1:25";

/** How the connection is protected: none, STARTTLS required, or TLS from the first byte (SMTPS). */
export type SmtpTls = "none" | "starttls" | "implicit";

export interface SmtpServer {
  host: string;
  port: number;
  tls: SmtpTls;
  auth: { user: string; pass: string } | null;
  /** The URL without its password, for logs and failure messages. */
  display: string;
}

const SCHEMES: Record<string, { tls: SmtpTls; port: number }> = {
  "smtp:": { tls: "none", port: 25 },
  "smtp+starttls:": { tls: "starttls", port: 25 },
  "smtps:": { tls: "implicit", port: 465 },
};

const URL_FORMS = "smtp://HOST[:PORT], smtp+starttls://[USER:PASSWORD@]HOST[:PORT] or smtps://[USER:PASSWORD@]HOST[:PORT]";

/** The server of an --smtp-url; a UsageError saying what is wrong otherwise. */
export function parseSmtpUrl(text: string): SmtpServer {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--smtp-url ${JSON.stringify(text)} is not a URL: use ${URL_FORMS}`);
  }
  const scheme = SCHEMES[url.protocol];
  if (scheme === undefined) throw new UsageError(`--smtp-url: unknown scheme ${JSON.stringify(url.protocol)}: use ${URL_FORMS}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw new UsageError(`--smtp-url ${JSON.stringify(text)} names no host: use ${URL_FORMS}`);
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    throw new UsageError(`--smtp-url ${JSON.stringify(redact(url))} has a path or query, which mean nothing here: use ${URL_FORMS}`);
  }
  const auth = url.username === "" ? null : { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
  // Secure by default: a password crosses the network only encrypted.
  if (auth !== null && scheme.tls === "none" && !isLoopback(host)) {
    throw new UsageError(`--smtp-url: a password for ${host} would cross the network in clear text: use smtp+starttls:// or smtps://`);
  }
  const port = url.port === "" ? scheme.port : Number(url.port);
  const user = auth === null ? "" : `${encodeURIComponent(auth.user)}@`;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return { host, port, tls: scheme.tls, auth, display: `${url.protocol}//${user}${shownHost}:${port}` };
}

function redact(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password !== "") copy.password = "***";
  return copy.href;
}

/** Whether `host` names this machine over loopback: nothing said to it crosses a network. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const ADDRESS = new RegExp(`^${ATOM}(?:\\.${ATOM})*@${LABEL}(?:\\.${LABEL})*$`);
const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/** Whether `address` is a plain local@domain SMTP can name as it is (RFC 5321 §4.1.2, §4.5.3.1 lengths). */
export function isPlainAddress(address: string): boolean {
  const at = address.lastIndexOf("@");
  return ADDRESS.test(address) && at <= 64 && address.length <= 254;
}

/** The recipient of an smtp:ADDRESS spec. */
export function checkRecipient(address: string): string {
  if (!isPlainAddress(address)) {
    throw new UsageError(`smtp:${address}: the address must be a plain local@domain, e.g. smtp:archive@example.org`);
  }
  return address;
}

/** The envelope sender of --smtp-from: "" for "<>", the null reverse-path. */
export function parseSender(text: string): string {
  if (text === "<>") return "";
  if (!isPlainAddress(text)) {
    throw new UsageError(`--smtp-from ${JSON.stringify(text)}: give a plain local@domain, e.g. archive-bounces@example.org, or <> for the null reverse-path`);
  }
  return text;
}

/**
 * The envelope sender without --smtp-from: mq-archive@<this host's name>.
 * Not the null reverse-path: RFC 5321 §4.5.5 keeps that for delivery
 * reports, and servers fighting backscatter refuse other mail from it. Not
 * the message's From: that forges its author's domain (SPF fails) and sends
 * bounces about our delivery to them. `qualified` is false when the name
 * holds no dot: servers beyond this host may refuse such a sender.
 */
export function defaultSender(host: string = hostname()): { address: string; qualified: boolean } {
  const name = DOMAIN.test(host) ? host : "localhost";
  return { address: `mq-archive@${name}`, qualified: name.includes(".") };
}
