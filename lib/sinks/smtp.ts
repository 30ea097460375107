// smtp:ADDRESS — deliver each message, unchanged, to ADDRESS over SMTP
// (--smtp-url, default smtp://127.0.0.1:25), for archives that take mail:
// mail-archive.com, public-inbox or MHonArc behind an MTA, a mailbox. List
// events pass by (storeKind), as stored.
//
// The message is nodemailer's `raw` DATA, not parsed or rebuilt: it arrives
// as smtpData() gives it (line breaks as CR LF, nothing else changed). A
// record is stored when the server answers 250 to the end of its data;
// nodemailer keeps one connection open between records (a pool of one,
// sending in order) and opens it again after a failure.
//
// At least once, by nature: a crash after the server's 250 and before our
// commit, or a timeout waiting for that 250 after the server stored the
// message, sends it again. An archive that skips a message it holds keeps
// one copy (MHonArc skips a known Message-ID, public-inbox the same
// Message-ID with the same content); a plain mailbox keeps two.

import { readFile } from "node:fs/promises";
import nodemailer, { type SendMailOptions, type Transporter } from "nodemailer";
import type SMTPPool from "nodemailer/lib/smtp-pool/index.js";
import { SinkError, StateMachineError, UsageError } from "../errors.js";
import { hasEightBit, smtpData } from "../message/smtp-data.js";
import { smtpFailure } from "./smtp-failure.js";
import { noDelaySocket } from "./smtp-socket.js";
import { checkRecipient, defaultSender, DEFAULT_SMTP_URL, isLoopback, parseSender, parseSmtpUrl, type SmtpServer } from "./smtp-settings.js";
import { storeKind, type Sink, type SinkContext, type SinkRecord } from "./sink.js";

export interface SmtpOptions {
  /** smtp://HOST[:PORT], smtp+starttls://[USER:PASSWORD@]HOST[:PORT] or smtps://…; default smtp://127.0.0.1:25. */
  smtpUrl?: string;
  /** The envelope sender (MAIL FROM); "<>" for the null reverse-path. Default mq-archive@<host name>. */
  smtpFrom?: string;
  /** Longest wait (ms) to connect, for the greeting, and for each reply. */
  smtpTimeoutMs?: number;
  /** A PEM file of the certificate authorities to trust for the server, instead of the system's. */
  smtpCa?: string;
}

/** RFC 5321 §4.5.3.2 has a client wait 5 minutes for most replies; a shorter wait sends more duplicates. */
export const DEFAULT_SMTP_TIMEOUT_MS = 5 * 60_000;

type Transport = Transporter<SMTPPool.SentMessageInfo>;

export class SmtpSink implements Sink {
  readonly name: string;
  private readonly server: SmtpServer;
  /** The envelope sender; "" is the null reverse-path. */
  private readonly sender: string;
  private readonly unqualifiedSender: boolean;
  private transport: Transport | null = null;

  constructor(
    private readonly address: string,
    private readonly options: SmtpOptions = {},
  ) {
    this.name = `smtp:${address}`;
    checkRecipient(address);
    this.server = parseSmtpUrl(options.smtpUrl ?? DEFAULT_SMTP_URL);
    const fallback = defaultSender();
    this.sender = options.smtpFrom === undefined ? fallback.address : parseSender(options.smtpFrom);
    this.unqualifiedSender = options.smtpFrom === undefined && !fallback.qualified;
    if (options.smtpTimeoutMs !== undefined && !(options.smtpTimeoutMs > 0)) {
      throw new UsageError("--smtp-timeout must be longer than 0: an SMTP server that stops answering must not hold the archive forever");
    }
  }

  async start(context: SinkContext): Promise<void> {
    if (this.transport !== null) throw new StateMachineError(`${this.name} started twice`);
    const ca = await this.readCa();
    this.transport = nodemailer.createTransport(this.transportOptions(ca));
    const sender = this.sender === "" ? "<>" : this.sender;
    context.log.info({ to: this.address, server: this.server.display, from: sender }, "smtp sink ready");
    if (this.server.tls === "none" && !isLoopback(this.server.host)) {
      context.log.warn({ server: this.server.display }, "smtp: messages cross the network to this server unencrypted; use smtp+starttls:// or smtps:// if it can");
    }
    if (this.unqualifiedSender) {
      context.log.warn({ from: sender }, "smtp: the default envelope sender has no domain beyond this host's name: servers elsewhere may refuse it; set --smtp-from");
    }
  }

  async store(records: readonly SinkRecord[]): Promise<void> {
    await storeKind("message", records, (safe) => this.sendAll(safe));
  }

  private async sendAll(records: readonly SinkRecord[]): Promise<void> {
    const transport = this.transport;
    if (transport === null) throw new SinkError(`${this.name} used before start()`, { transient: true });
    for (let i = 0; i < records.length; i++) {
      try {
        await this.send(transport, records[i]!.body);
      } catch (err) {
        throw smtpFailure(err, this.server.display, i);
      }
    }
  }

  private async send(transport: Transport, body: Buffer): Promise<void> {
    const data = smtpData(body);
    // SIZE lets a server refuse an oversized message before it crosses (RFC 1870); BODY=8BITMIME declares 8-bit bytes (RFC 6152).
    const envelope = { from: this.sender, to: [this.address], size: data.length, use8BitMime: hasEightBit(data) };
    // The typings' Envelope lacks size and use8BitMime, which nodemailer passes on to the connection.
    await transport.sendMail({ raw: data, envelope: envelope as unknown as SendMailOptions["envelope"] });
  }

  /** nodemailer's options; maxRequeues is missing from its type definitions. */
  private transportOptions(ca: Buffer | null): SMTPPool.Options & { maxRequeues: number } {
    const { host, port, tls, auth } = this.server;
    const timeout = this.options.smtpTimeoutMs ?? DEFAULT_SMTP_TIMEOUT_MS;
    return {
      pool: true,
      // One connection, kept open between records; records go one at a time, in order.
      maxConnections: 1,
      maxMessages: Infinity,
      // A connection lost mid-message is our failure to report (and retry in order), not the pool's to resend.
      maxRequeues: 0,
      host,
      port,
      getSocket: noDelaySocket(host, port),
      secure: tls === "implicit",
      // STARTTLS only when the URL asks, and then required: a local MTA's self-signed certificate must not stall plain smtp://.
      requireTLS: tls === "starttls",
      ignoreTLS: tls === "none",
      ...(auth === null ? {} : { auth: { user: auth.user, pass: auth.pass } }),
      ...(ca === null ? {} : { tls: { ca } }),
      // The socket comes connecting (noDelaySocket): the greeting timeout covers name lookup and connect too.
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
    };
  }

  private async readCa(): Promise<Buffer | null> {
    const file = this.options.smtpCa;
    if (file === undefined) return null;
    try {
      return await readFile(file);
    } catch (err) {
      throw new SinkError(`cannot read --smtp-ca ${file}: ${(err as Error).message}`, { transient: false, cause: err });
    }
  }

  async close(): Promise<void> {
    this.transport?.close();
    this.transport = null;
  }
}
