// The smtp sink against a real SMTP server: aiosmtpd under Debian's Python
// (spec/helpers/smtp_archive.py stores what it receives byte for byte and
// answers 4xx/5xx when told), plus the stock aiosmtpd Mailbox handler.

import { expect } from "chai";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { UsageError } from "../../lib/errors.js";
import { smtpData } from "../../lib/message/smtp-data.js";
import { parseSink } from "../../lib/sinks/parse.js";
import type { SinkRecord } from "../../lib/sinks/sink.js";
import { SmtpSink, type SmtpOptions } from "../../lib/sinks/smtp.js";
import { defaultSender, parseSender, parseSmtpUrl } from "../../lib/sinks/smtp-settings.js";
import { freePortPair } from "../helpers/ports.js";
import { PYTHON, selfSignedCert, SmtpTestServer, smtpServerMissing, stopSmtpServers, storedIn } from "../helpers/smtp-server.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { batch, expectSinkError, SinkBench, sinkContract } from "./contract.js";
import { eventRecord, sinkRecord } from "./records.js";

const ADDRESS = "archive@example.org";

/** A record of `list` with these exact bytes. */
function rawRecord(list: string, seq: number, body: string | Buffer): SinkRecord {
  return { ...sinkRecord(list, seq), messageId: `<raw-${seq}@test>`, body: typeof body === "string" ? Buffer.from(body, "latin1") : body };
}

/** Undo SMTP's line breaks: exact for the test messages, which use LF alone and end in one. */
const fromSmtp = (data: Buffer): Buffer => Buffer.from(data.toString("latin1").replace(/\r\n/g, "\n"), "latin1");

describe("smtp sink, with a real SMTP server (aiosmtpd)", function () {
  this.timeout(60_000);

  before(function () {
    const missing = smtpServerMissing();
    if (missing) {
      console.warn(`\n  !!! SKIPPING the smtp sink tests: ${missing}.\n`);
      this.skip();
    }
  });

  describe("the shared contract", () => {
    // One server for the suite, an archive that skips a Message-ID it holds
    // (as MHonArc does, and public-inbox for the same content): it, not the sink,
    // keeps a redelivered record from becoming a second entry. Each bench
    // directory gets its own recipient, so its own mailbox.
    let archive: SmtpTestServer;
    let root: string;
    const recipient = (dir: string): string => `a${createHash("sha256").update(dir).digest("hex").slice(0, 24)}@archive.test`;
    before(async () => {
      root = mkdtempSync(join(tmpdir(), "mqa-smtp-contract-")); // for the whole suite: tempDir() goes after each test
      archive = await SmtpTestServer.start({ root, dedupe: true });
    });
    after(async () => {
      await archive.stop();
      rmSync(root, { recursive: true, force: true });
    });

    const readBack = async (dir: string, list: string): Promise<Buffer[]> =>
      storedIn(root, recipient(dir))
        .filter((m) => m.toString("latin1").includes(`\r\nTo: ${list}@lists.example.org\r\n`))
        .map(fromSmtp);
    sinkContract("smtp", (dir) => new SmtpSink(recipient(dir), { smtpUrl: archive.url() }), readBack);
  });

  describe("SmtpSink", () => {
    let server: SmtpTestServer;
    let options: SmtpOptions;
    let address: string;
    let bench: SinkBench;
    beforeEach(async () => {
      server = await SmtpTestServer.start();
      options = { smtpUrl: server.url(), smtpFrom: "archive-bounces@example.org" };
      address = ADDRESS;
      bench = new SinkBench(() => new SmtpSink(address, options));
    });
    afterEach(async () => {
      await bench.close();
      await stopSmtpServers();
    });

    it("delivers each message byte for byte but for line breaks, which arrive as CR LF, and adds nothing", async () => {
      const bodies = [
        "From: a@example.org\nSubject: LF only\nMessage-ID: <lf@test>\n\nbody\n",
        "From: a@example.org\r\nSubject: CRLF already\r\nMessage-ID: <crlf@test>\r\n\r\nbody\r\n",
        "From: a@example.org\nSubject: mixed, a lone CR, no final break\n\nline\r\nbare\rcr\nlast",
        "Subject: no Message-ID at all\n\nnobody named it\n",
        "Subject: dots\n\n.\n..two\n.leading\nend\n",
        "Subject: smuggling attempt\n\nbefore\r.\r\nMAIL FROM:<evil@example.org>\r\n.\r\nafter\n",
        "sUbJeCt:   Odd case,\n\tfolded  header\nX-Bytes: caf\xe9 \x00 \xff\n\nFrom the start\n>From quoted\n\xe9t\xe9\n",
      ].map((s) => Buffer.from(s, "latin1"));
      const sink = await bench.start(0);
      await sink.store(bodies.map((body, i) => rawRecord("dev", i + 1, body)));
      const stored = server.stored(ADDRESS);
      expect(stored).to.have.length(bodies.length);
      stored.forEach((got, i) => expect(got.toString("latin1"), `message ${i}`).to.equal(smtpData(bodies[i]!).toString("latin1")));
      expect(stored[1], "a CR LF message arrives exactly as it was").to.deep.equal(bodies[1]);
      expect(stored[3]!.toString("latin1"), "no Message-ID was added").not.to.match(/^message-id:/im);
      expect(stored[5]!.toString("latin1"), "the smuggled lines stayed inside the message").to.contain("MAIL FROM:<evil@example.org>");
      const arrivals = server.arrivals();
      expect(arrivals.map((a) => [a.from, a.to])).to.deep.equal(bodies.map(() => ["archive-bounces@example.org", [ADDRESS]]));
      expect(arrivals[6]!.mail_options, "8-bit bytes declared").to.include("BODY=8BITMIME");
      expect(arrivals[0]!.mail_options).to.deep.equal([`SIZE=${smtpData(bodies[0]!).length}`]);
    });

    it("keeps one connection open across records and batches", async () => {
      const sink = await bench.start(0);
      for (let i = 0; i < 4; i++) await sink.store(batch(i * 5 + 1, i * 5 + 5));
      const arrivals = server.arrivals();
      expect(arrivals).to.have.length(20);
      expect(new Set(arrivals.map((a) => a.client_port)).size, "connections").to.equal(1);
    });

    it("passes list events by, as stored, and sends only the messages", async () => {
      const sink = await bench.start(0);
      const records = [sinkRecord("dev", 1), eventRecord("dev", 2), sinkRecord("dev", 3), eventRecord("dev", 4)];
      await sink.store(records);
      expect(server.stored(ADDRESS).map(fromSmtp)).to.deep.equal([records[0]!.body, records[2]!.body]);
    });

    it("takes a 4xx as temporary, stored up to the record before it; a retry delivers it once", async () => {
      const records = batch(1, 4, ["dev"]);
      server.rules([{ match: records[2]!.messageId, reply: "451 4.3.0 mailbox busy, try again", times: 2 }]);
      const sink = await bench.start(0);
      for (let attempt = 1; attempt <= 2; attempt++) {
        const err = await expectSinkError(sink.store(attempt === 1 ? records : records.slice(2)));
        expect(err.transient, `attempt ${attempt}`).to.equal(true);
        expect(err.stored).to.equal(attempt === 1 ? 2 : 0);
        expect(err.message).to.contain("451 4.3.0 mailbox busy, try again");
      }
      await sink.store(records.slice(2));
      expect(server.stored(ADDRESS).map(fromSmtp)).to.deep.equal(records.map((r) => r.body));
      expect(server.arrivals().map((a) => a.outcome)).to.deep.equal(["stored", "stored", "451 4.3.0 mailbox busy, try again", "451 4.3.0 mailbox busy, try again", "stored", "stored"]);
    });

    it("takes a 5xx to the message as permanent, with the server's text, and sends nothing after it", async () => {
      const records = batch(1, 3, ["dev"]);
      server.rules([{ match: records[1]!.messageId, reply: "554 5.6.0 message refused: no archive for this", times: -1 }]);
      const sink = await bench.start(0);
      const err = await expectSinkError(sink.store(records));
      expect(err.transient).to.equal(false);
      expect(err.code).to.equal("SINK_PERMANENT");
      expect(err.stored).to.equal(1);
      expect(err.message).to.contain("554 5.6.0 message refused: no archive for this").and.to.contain("DATA");
      expect(server.arrivals()).to.have.length(2);
      await sink.store(records.slice(2)); // the connection the failure closed opens again
      expect(server.stored(ADDRESS).map(fromSmtp)).to.deep.equal([records[0]!.body, records[2]!.body]);
    });

    it("sends a line over SMTP's 998 octets as it is: a server that refuses it makes that a permanent failure with its reply", async () => {
      const long = rawRecord("dev", 1, `Subject: long line\n\n${"x".repeat(2000)}\n`);
      const sink = await bench.start(0);
      const err = await expectSinkError(sink.store([long, sinkRecord("dev", 2)]));
      expect(err.transient).to.equal(false);
      expect(err.stored).to.equal(0);
      expect(err.message).to.contain("500 Line too long"); // aiosmtpd's own reply (RFC 5321 §4.5.3.1.6)
      await sink.store([sinkRecord("dev", 2)]);
      expect(server.stored(ADDRESS)).to.have.length(1);
    });

    it("takes a message over the server's SIZE as permanent, before sending it", async () => {
      await server.stop();
      server = await SmtpTestServer.start({ size: 4000 });
      options = { smtpUrl: server.url() };
      const sink = await bench.start(0);
      const err = await expectSinkError(sink.store([sinkRecord("dev", 1, 1000), sinkRecord("dev", 2, 9000)]));
      expect(err.transient).to.equal(false);
      expect(err.stored).to.equal(1);
      expect(err.message).to.match(/larger than allowed 4000/);
      expect(server.arrivals(), "the big one never crossed").to.have.length(1);
    });

    it("waits out a server that is down (connection refused), then delivers on the same sink", async () => {
      await server.stop();
      const sink = await bench.start(0);
      const records = batch(1, 3, ["dev"]);
      const err = await expectSinkError(sink.store(records));
      expect(err.transient).to.equal(true);
      expect(err.stored).to.equal(0);
      expect(err.message).to.contain("ECONNREFUSED").and.to.contain(`127.0.0.1:${server.port}`);
      await server.restart();
      await sink.store(records);
      expect(server.stored(ADDRESS).map(fromSmtp)).to.deep.equal(records.map((r) => r.body));
    });

    it("gives up on a server that accepts the connection and never greets (--smtp-timeout), then delivers once one answers there", async () => {
      // A listener that never speaks stands in for a hung server: aiosmtpd cannot be made to hang before its greeting.
      const port = server.port;
      await server.stop();
      const silent = createServer(() => {});
      const held: Socket[] = [];
      silent.on("connection", (socket) => held.push(socket));
      await new Promise<void>((resolve) => silent.listen(port, "127.0.0.1", resolve));
      options = { ...options, smtpTimeoutMs: 300 };
      const sink = await bench.start(0);
      try {
        const err = await expectSinkError(sink.store([sinkRecord("dev", 1)]));
        expect(err.transient).to.equal(true);
        expect(err.message).to.contain("did not answer within --smtp-timeout");
      } finally {
        for (const socket of held) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
      server = await SmtpTestServer.start({ port });
      await sink.store([sinkRecord("dev", 1)]);
      expect(server.stored(ADDRESS)).to.have.length(1);
    });

    it("opens the kept connection again after the server died under it; nothing is sent twice", async () => {
      const sink = await bench.start(0);
      const records = batch(1, 4, ["dev"]);
      await sink.store(records.slice(0, 2));
      await server.stop("SIGKILL");
      const err = await expectSinkError(sink.store(records.slice(2)));
      expect(err.transient).to.equal(true);
      await server.restart();
      await sink.store(records.slice(2));
      expect(server.stored(ADDRESS).map(fromSmtp)).to.deep.equal(records.map((r) => r.body));
      expect(new Set(server.arrivals().map((a) => a.client_port)).size, "connections").to.equal(2);
    });

    it("at least once: a timeout waiting for the 250 of a message the server stored sends it again (two copies in a mailbox)", async () => {
      const record = sinkRecord("dev", 1);
      server.rules([{ match: record.messageId, hold: 5, times: 1 }]);
      options = { ...options, smtpTimeoutMs: 500 };
      const sink = await bench.start(0);
      const err = await expectSinkError(sink.store([record]));
      expect(err.transient).to.equal(true);
      expect(err.message).to.contain("did not answer within --smtp-timeout");
      await sink.store([record]);
      expect(server.arrivals().map((a) => a.outcome)).to.deep.equal(["stored", "stored"]);
      expect(server.stored(ADDRESS).map(fromSmtp)).to.deep.equal([record.body, record.body]);
    });

    it("sends from mq-archive@<host name> by default, or from the null reverse-path for --smtp-from '<>'", async () => {
      options = { smtpUrl: server.url() };
      await (await bench.start(0)).store([sinkRecord("dev", 1)]);
      options = { smtpUrl: server.url(), smtpFrom: "<>" };
      await (await bench.start(1)).store([sinkRecord("dev", 2)]);
      // aiosmtpd writes the null reverse-path as it came: "<>".
      expect(server.arrivals().map((a) => a.from)).to.deep.equal([defaultSender().address, "<>"]);
    });

    describe("STARTTLS, SMTPS and AUTH, when the URL asks for them", () => {
      let cert: { cert: string; key: string };
      const user = "archivist";
      const password = "p@ss word:%";
      const credentials = `${user}:${encodeURIComponent(password)}`;
      beforeEach(async function () {
        const made = selfSignedCert(tempDir("mqa-smtp-tls-"));
        if (made === null) {
          console.warn("\n  !!! SKIPPING the smtp TLS tests: openssl cannot make a certificate.\n");
          this.skip();
        }
        cert = made;
        await server.stop();
        server = await SmtpTestServer.start({ tls: cert, auth: `${user}:${password}` });
      });

      it("delivers over smtp+starttls:// with the password from the URL, trusting --smtp-ca", async () => {
        options = { smtpUrl: server.url("smtp+starttls", credentials), smtpCa: cert.cert };
        await (await bench.start(0)).store(batch(1, 3, ["dev"]));
        expect(server.stored(ADDRESS)).to.have.length(3);
      });

      it("delivers over smtps://", async () => {
        await server.stop();
        server = await SmtpTestServer.start({ tls: { ...cert, implicit: true }, auth: `${user}:${password}` });
        options = { smtpUrl: server.url("smtps", credentials), smtpCa: cert.cert };
        await (await bench.start(0)).store(batch(1, 2, ["dev"]));
        expect(server.stored(ADDRESS)).to.have.length(2);
      });

      // Settings, not the message: temporary (waited out, logged), never a dead letter per record.
      const wrongSettings: Array<[string, () => SmtpOptions, RegExp]> = [
        ["a certificate it cannot verify", () => ({ smtpUrl: server.url("smtp+starttls", credentials) }), /certificate/i],
        ["a wrong password (535)", () => ({ smtpUrl: server.url("smtp+starttls", `${user}:wrong`), smtpCa: cert.cert }), /535/],
        ["no credentials (530 at MAIL FROM)", () => ({ smtpUrl: server.url("smtp+starttls"), smtpCa: cert.cert }), /530/],
        ["plain smtp:// where STARTTLS is required (530)", () => ({ smtpUrl: server.url("smtp", credentials) }), /530/],
      ];
      for (const [what, settings, text] of wrongSettings) {
        it(`takes ${what} as temporary, saying so`, async () => {
          options = settings();
          const err = await expectSinkError((await bench.start(0)).store([sinkRecord("dev", 1)]));
          expect(err.transient).to.equal(true);
          expect(err.message).to.match(text);
          expect(err.message, "the password stays out of messages").not.to.contain("p@ss");
          expect(server.stored(ADDRESS)).to.have.length(0);
        });
      }
    });
  });

  it("delivers to the stock aiosmtpd Mailbox handler (python3 -m aiosmtpd ... Mailbox), which shows the envelope", async () => {
    const maildir = join(tempDir("mqa-smtp-mailbox-"), "Maildir");
    const port = await freePortPair();
    const child = spawn(PYTHON, ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${port}`, "-c", "aiosmtpd.handlers.Mailbox", maildir], { stdio: "ignore" });
    try {
      await waitFor(() => canConnect(port), { timeoutMs: 20_000, what: "aiosmtpd to listen" });
      const bench = new SinkBench(() => new SmtpSink(ADDRESS, { smtpUrl: `smtp://127.0.0.1:${port}` }));
      const record = sinkRecord("dev", 1);
      await (await bench.start(0)).store([record]);
      await bench.close();
      const files = readdirSync(join(maildir, "new"));
      expect(files).to.have.length(1);
      const got = readFileSync(join(maildir, "new", files[0]!), "latin1");
      expect(got).to.contain(`Message-ID: ${record.messageId}`);
      expect(got).to.contain(`X-MailFrom: mq-archive@${defaultSender().address.split("@")[1]}`);
      expect(got).to.contain(`X-RcptTo: ${ADDRESS}`);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("smtp sink settings", () => {
  it("parses smtp://, smtp+starttls:// and smtps:// URLs, with credentials, never showing the password", () => {
    expect(parseSmtpUrl("smtp://127.0.0.1")).to.deep.include({ host: "127.0.0.1", port: 25, tls: "none", auth: null });
    expect(parseSmtpUrl("smtp+starttls://me%40x:p%3Aw@mail.example.org:587")).to.deep.equal({
      host: "mail.example.org", port: 587, tls: "starttls", auth: { user: "me@x", pass: "p:w" }, display: "smtp+starttls://me%40x@mail.example.org:587",
    });
    expect(parseSmtpUrl("smtps://[::1]")).to.deep.include({ host: "::1", port: 465, tls: "implicit", display: "smtps://[::1]:465" });
    expect(parseSmtpUrl("smtp://u:pw@localhost:2525").auth, "a password to this host stays on it").to.deep.equal({ user: "u", pass: "pw" });
  });

  it("refuses URLs it cannot honour, saying which forms it takes", () => {
    for (const bad of ["127.0.0.1:25", "http://mail.example.org", "smtp://", "smtp://host/path", "smtp://host?starttls=1", "smtp://u:pw@mail.example.org"]) {
      expect(() => parseSmtpUrl(bad), bad).to.throw(UsageError, /smtp/);
    }
    expect(() => parseSmtpUrl("smtp://u:secret@mail.example.org")).to.throw(UsageError, /clear text/).that.satisfies((e: Error) => !e.message.includes("secret"));
  });

  it("takes plain addresses only, for the recipient and --smtp-from ('<>' is the null reverse-path)", () => {
    expect(parseSink("smtp:archive+dev@example.org").name).to.equal("smtp:archive+dev@example.org");
    for (const bad of ["smtp:", "smtp:Archive <a@example.org>", 'smtp:"a@b"@example.org', "smtp:a@", "smtp:a b@example.org", "smtp:a@exa_mple.org"]) {
      expect(() => parseSink(bad), bad).to.throw(UsageError);
    }
    expect(parseSender("<>")).to.equal("");
    expect(parseSender("bounces@example.org")).to.equal("bounces@example.org");
    expect(() => parseSender("Bounces <b@example.org>")).to.throw(UsageError, /plain/);
    expect(() => new SmtpSink(ADDRESS, { smtpTimeoutMs: 0 })).to.throw(UsageError, /smtp-timeout/);
  });

  it("defaults the sender to mq-archive@<host name>, saying when that name is not qualified", () => {
    expect(defaultSender("mail.example.org")).to.deep.equal({ address: "mq-archive@mail.example.org", qualified: true });
    expect(defaultSender("vm")).to.deep.equal({ address: "mq-archive@vm", qualified: false });
    expect(defaultSender("bad_name")).to.deep.equal({ address: "mq-archive@localhost", qualified: false });
    expect(defaultSender().address).to.equal(`mq-archive@${/^[A-Za-z0-9.-]+$/.test(hostname()) ? hostname() : "localhost"}`);
  });

  it("names itself in the usage message of an unknown sink", () => {
    expect(() => parseSink("smpt:a@example.org")).to.throw(UsageError, /smtp:ADDRESS/);
  });

  it("says at start where it delivers, and warns of clear text beyond this host and of an unqualified default sender", async () => {
    const started = async (options: SmtpOptions): Promise<Array<Record<string, unknown>>> => {
      const lines: Array<Record<string, unknown>> = [];
      const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
      const sink = new SmtpSink(ADDRESS, options);
      await sink.start({ journal: { get: () => null, set: async () => {} }, committed: 0, position: () => 0, commits: () => 0, outbox: null, log });
      await sink.close();
      return lines;
    };
    const local = await started({ smtpUrl: "smtp://u:secret@127.0.0.1:2525", smtpFrom: "b@example.org" });
    expect(local.map((l) => [l.msg, l.server, l.from, l.to])).to.deep.equal([["smtp sink ready", "smtp://u@127.0.0.1:2525", "b@example.org", ADDRESS]]);
    const remote = await started({ smtpUrl: "smtp://mx.example.org", smtpFrom: "<>" });
    expect(remote.map((l) => l.msg)).to.deep.equal(["smtp sink ready", "smtp: messages cross the network to this server unencrypted; use smtp+starttls:// or smtps:// if it can"]);
    expect(remote[0]!.from).to.equal("<>");
    const byDefault = await started({});
    expect(byDefault.some((l) => String(l.msg).includes("default envelope sender")), "warned").to.equal(!defaultSender().qualified);
  });

  it("fails start() permanently when --smtp-ca cannot be read", async () => {
    const bench = new SinkBench(() => new SmtpSink(ADDRESS, { smtpCa: "/nonexistent/ca.pem" }));
    try {
      const err = await expectSinkError(bench.start(0));
      expect(err.transient).to.equal(false);
      expect(err.message).to.contain("--smtp-ca /nonexistent/ca.pem");
    } finally {
      await bench.close();
    }
  });
});
