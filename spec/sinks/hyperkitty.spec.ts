// The hyperkitty sink against a real HyperKitty (hyperkitty/server.ts): the
// sink contract, then each kind of answer HyperKitty gives and what the sink
// makes of it. HyperKitty keeps no raw bytes: what it stored is read from its
// database (which rows, in which order) and the bytes it was sent for each
// from the copies capture.py keeps inside it.

import { expect } from "chai";
import { once } from "node:events";
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { ConfigError, UsageError } from "../../lib/errors.js";
import { HyperKittySink, MAX_ANSWER_BYTES, type HyperKittyOptions } from "../../lib/sinks/hyperkitty.js";
import type { SinkRecord } from "../../lib/sinks/sink.js";
import { sha256 } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { expectSinkError, SinkBench, sinkContract, type MakeRecord } from "./contract.js";
import { HyperKitty, hyperkittyMissing, storedIds } from "./hyperkitty/server.js";
import { eventRecord, sinkRecord } from "./records.js";

const LISTS = ["alpha@lists.example.org", "beta@lists.example.org", "gamma@lists.example.org"] as const;

/** Message `seq` of `list` with the Message-ID (header and field) given. */
function withId(record: SinkRecord, messageId: string): SinkRecord {
  const body = Buffer.from(record.body.toString("latin1").replace(record.messageId, messageId), "latin1");
  return { ...record, messageId, body };
}

/** A message as publish stores it: text, and its (possibly derived) Message-ID. */
function textRecord(list: string, seq: number, text: string, messageId = `<derived-${seq}@mq-archive>`): SinkRecord {
  return { ...sinkRecord(list, seq), messageId, body: Buffer.from(text, "utf8") };
}

describe("hyperkitty sink, with a real HyperKitty", function () {
  this.timeout(120_000);
  let hk: HyperKitty;
  let keyFile: string;

  before(async function () {
    const missing = hyperkittyMissing();
    if (missing) {
      console.warn(`\n  !!! SKIPPING the HyperKitty sink tests: ${missing}.\n`);
      this.skip();
    }
    this.timeout(180_000);
    hk = await HyperKitty.create();
    keyFile = hk.writeKeyFile("sink.key");
  });
  after(async () => {
    await hk?.destroy();
  });

  /** Message-IDs are new in each test: HyperKitty outlives the tests and never stores a known one again. */
  let run = 0;
  beforeEach(() => run++);
  const record: MakeRecord = (list, seq, size) => {
    const r = sinkRecord(list, seq, size);
    return withId(r, r.messageId.replace("@test.mq-archive>", `.run${run}@test.mq-archive>`));
  };

  /** This test's records' ids end so (or, as HyperKitty cuts them short at their second @, end there). */
  const ofThisRun = (storedId: string) => new RegExp(`\\.run${run}(@|$)`).test(storedId);
  const idsOf = (records: readonly SinkRecord[]) => storedIds(records.map((r) => r.body));

  /** What HyperKitty holds of this test's messages in `list`, in its order: the bytes it was sent for each. */
  async function readBack(_dir: string, list: string): Promise<Buffer[]> {
    return hk
      .emails(list)
      .filter((e) => ofThisRun(e.messageId))
      .map((e) => hk.captured(list, e.messageId) ?? Buffer.from(`stored, but no copy of what was sent: ${e.messageId}`));
  }

  const makeSink = (options: HyperKittyOptions = {}) => () => new HyperKittySink(hk.base, { hyperkittyKeyFile: keyFile, ...options });

  sinkContract("hyperkitty", makeSink(), readBack, { lists: LISTS, record });

  describe("HyperKitty's answers", () => {
    let bench: SinkBench;
    let options: HyperKittyOptions;
    let base: () => string;
    beforeEach(() => {
      options = {};
      base = () => hk.base;
      bench = new SinkBench(() => new HyperKittySink(base(), { hyperkittyKeyFile: keyFile, ...options }));
    });
    afterEach(async () => {
      await bench.close();
      keyFile = hk.writeKeyFile("sink.key");
      await hk.reset();
    });

    const list = LISTS[0];
    const stored = () => hk.emails(list).filter((e) => ofThisRun(e.messageId));

    it("dead-letters a message without Message-ID (400) with HyperKitty's text, after storing those before it", async () => {
      const sink = await bench.start(0);
      const records = [record(list, 1), textRecord(list, 2, "From: a@example.org\nSubject: no id\n\nbody\n"), record(list, 3)];
      const err = await expectSinkError(sink.store(records));
      expect(err.transient).to.equal(false);
      expect(err.stored).to.equal(1);
      expect(err.message).to.equal("HyperKitty refused the message (400): No 'Message-Id' header in email");
      expect(stored().map((e) => e.messageId)).to.deep.equal(await idsOf(records.slice(0, 1)));
    });

    it("dead-letters a message with a non-ASCII sender address (400) with HyperKitty's text", async () => {
      const sink = await bench.start(0);
      const text = `From: Zoë <zoë@exämple.org>\nSubject: accents\nMessage-ID: <accents.run${run}@test.mq-archive>\n\nbody\n`;
      const err = await expectSinkError(sink.store([textRecord(list, 1, text, `<accents.run${run}@test.mq-archive>`)]));
      expect(err.transient).to.equal(false);
      expect(err.message).to.equal("HyperKitty refused the message (400): Non-ascii sender address");
      expect(stored()).to.deep.equal([]);
    });

    it("counts a message HyperKitty already holds as stored (a duplicate answers 200) and leaves one entry", async () => {
      const r = record(list, 1);
      expect(await hk.archiveDirectly(list, r.body)).to.equal(200);
      const sink = await bench.start(0);
      await sink.store([r]);
      await sink.store([r]);
      const [id] = (await idsOf([r])) as [string];
      expect(stored().map((e) => e.messageId)).to.deep.equal([id]);
      expect(sha256(hk.captured(list, id)!)).to.equal(sha256(r.body));
      expect(await hk.apiEmail(list, id)).to.include({ message_id: id });
    });

    it("passes list events by as stored, and stores the messages around them in order", async () => {
      const sink = await bench.start(0);
      const records = [eventRecord(list, 1), record(list, 2), eventRecord(list, 3), record(list, 4)];
      await sink.store(records);
      expect(stored().map((e) => e.messageId)).to.deep.equal(await idsOf([records[1]!, records[3]!]));
    });

    it("refuses a list name without a domain for good, without sending it (HyperKitty would store it, then answer 500)", async () => {
      const sink = await bench.start(0);
      const err = await expectSinkError(sink.store([record(list, 1), record("plain", 2)]));
      expect(err.transient).to.equal(false);
      expect(err.stored).to.equal(1);
      expect(err.message).to.contain("full address");
      expect(hk.emails("plain")).to.deep.equal([]);
    });

    it("pauses on a wrong key (401), says so as a problem, and goes on once the key file is fixed, without a new start", async () => {
      const wrong = "wrong-key-0123456789";
      keyFile = hk.writeKeyFile("sink.key", wrong);
      const sink = await bench.start(0);
      const r = record(list, 1);
      for (let i = 0; i < 2; i++) {
        const err = await expectSinkError(sink.store([r]));
        expect(err.transient, "retried, never dead-lettered").to.equal(true);
        expect(err.stored).to.equal(0);
        expect(err.message).to.contain("refused the archiver key (401)").and.to.contain(keyFile).and.not.to.contain(wrong);
      }
      expect(bench.problems).to.have.length(2);
      expect(bench.problems[0]).to.contain("MAILMAN_ARCHIVER_KEY").and.to.contain("paused");
      expect(stored()).to.deep.equal([]);

      hk.writeKeyFile("sink.key"); // the right key, in the same file
      await sink.store([r]);
      expect(bench.problems.at(-1), "the problem is over").to.equal(null);
      expect(stored().map((e) => e.messageId)).to.deep.equal(await idsOf([r]));
    });

    it("pauses while the key file cannot be read after a 401 (being rewritten, say), then reads it again", async () => {
      keyFile = hk.writeKeyFile("sink.key", "stale-key-0000");
      const sink = await bench.start(0);
      const r = record(list, 1);
      expect((await expectSinkError(sink.store([r]))).message).to.contain("(401)");
      rmSync(keyFile);
      const err = await expectSinkError(sink.store([r]));
      expect(err.transient).to.equal(true);
      expect(err.message).to.contain(`cannot read the HyperKitty key file ${keyFile}`).and.to.contain("paused");
      expect(bench.problems.at(-1)).to.equal(err.message);
      hk.writeKeyFile("sink.key");
      await sink.store([r]);
      expect(bench.problems.at(-1)).to.equal(null);
      expect(stored()).to.have.length(1);
    });

    it("pauses while HyperKitty refuses this host (403: MAILMAN_ARCHIVER_FROM), then stores", async () => {
      await hk.stop();
      await hk.start({ from: "192.0.2.1" });
      const sink = await bench.start(0);
      const r = record(list, 1);
      const err = await expectSinkError(sink.store([r]));
      expect(err.transient).to.equal(true);
      expect(err.message).to.contain("refused this host (403)").and.to.contain("MAILMAN_ARCHIVER_FROM");
      expect(bench.problems).to.deep.equal([err.message]);
      await hk.stop();
      await hk.start();
      await sink.store([r]);
      expect(stored()).to.have.length(1);
    });

    it("pauses on a URL that is not HyperKitty's base (404), as a problem, not a dead letter", async () => {
      base = () => `http://127.0.0.1:${hk.port}/`;
      const sink = await bench.start(0);
      const err = await expectSinkError(sink.store([record(list, 1)]));
      expect(err.transient).to.equal(true);
      expect(err.message).to.contain("answered 404").and.to.contain("/hyperkitty/ prefix");
      expect(bench.problems).to.deep.equal([err.message]);
    });

    it("retries while HyperKitty is down (a refused connection), then stores everything once", async () => {
      const sink = await bench.start(0);
      await hk.stop();
      const records = [record(list, 1), record(list, 2)];
      const err = await expectSinkError(sink.store(records));
      expect(err.transient).to.equal(true);
      expect(err.stored).to.equal(0);
      expect(err.message).to.contain("cannot reach HyperKitty").and.to.contain("ECONNREFUSED");
      expect(bench.problems, "not a configuration problem").to.deep.equal([]);
      await hk.start();
      await sink.store(records);
      expect(stored().map((e) => e.messageId)).to.deep.equal(await idsOf(records));
    });

    it("gives up on a POST HyperKitty does not answer in time (temporary); when HyperKitty stored it after all, the retry answers 200 and it stays once", async () => {
      options = { hyperkittyTimeoutMs: 500 };
      const sink = await bench.start(0);
      const r = record(list, 1);
      hk.pause(); // SIGSTOP: the kernel still accepts the connection and holds the request
      let err;
      try {
        err = await expectSinkError(sink.store([r]));
      } finally {
        hk.resume();
      }
      expect(err.transient).to.equal(true);
      expect(err.stored).to.equal(0);
      expect(err.message).to.contain("no answer from HyperKitty").and.to.contain("500ms");
      // HyperKitty now reads the abandoned request and stores the message: the failure was not the whole truth.
      await waitFor(() => stored().length === 1, { timeoutMs: 30_000, what: "HyperKitty to store the abandoned POST" });
      options.hyperkittyTimeoutMs = 60_000;
      await (await bench.start(0)).store([r]);
      expect(stored().map((e) => e.messageId)).to.deep.equal(await idsOf([r]));
    });
  });

  describe("configuration", () => {
    it("needs --hyperkitty-key-file and a plain http(s) base URL", () => {
      expect(() => new HyperKittySink(hk.base)).to.throw(UsageError, "--hyperkitty-key-file");
      expect(() => new HyperKittySink("ftp://x/", { hyperkittyKeyFile: keyFile })).to.throw(UsageError, "http");
      expect(() => new HyperKittySink("https://u:secret@x/hyperkitty/", { hyperkittyKeyFile: keyFile })).to.throw(UsageError, "no user, password");
      expect(() => new HyperKittySink(hk.base, { hyperkittyKeyFile: keyFile, hyperkittyTimeoutMs: 0 })).to.throw(UsageError, "more than 0");
      expect(new HyperKittySink(`http://127.0.0.1:${hk.port}/hyperkitty`, { hyperkittyKeyFile: keyFile }).name).to.equal(`hyperkitty:${hk.base}`);
    });

    it("refuses to start with a key file it cannot use: missing, empty, readable by everyone, or more than a key", async () => {
      let file = `${hk.dir}/missing.key`;
      const bench = new SinkBench(() => new HyperKittySink(hk.base, { hyperkittyKeyFile: file }));
      try {
        const refused = async (what: string) => {
          const err = await bench.start(0).then(() => null, (e: unknown) => e);
          expect(err, what).to.be.instanceOf(ConfigError);
          expect((err as Error).message, what).to.contain(file);
          return (err as Error).message;
        };
        expect(await refused("missing")).to.contain("cannot read");
        file = hk.writeKeyFile("empty.key", "");
        expect(await refused("empty")).to.contain("empty");
        file = hk.writeKeyFile("open.key");
        chmodSync(file, 0o644);
        expect(await refused("world-readable")).to.contain("chmod o-rwx");
        file = hk.writeKeyFile("two.key", "one two");
        const message = await refused("two words");
        expect(message).to.contain("the key alone").and.not.to.contain("one two");
      } finally {
        await bench.close();
      }
    });
  });
});

describe("hyperkitty sink, against a server that answers without end", () => {
  let server: Server;
  let sent = 0;
  let bench: SinkBench;

  beforeEach(async () => {
    sent = 0;
    // A broken proxy: 502 and a body that never ends, as fast as the peer reads it.
    server = createServer((_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      const chunk = Buffer.alloc(64 * 1024, "<p>bad gateway</p>");
      const pump = () => {
        while (!res.destroyed && sent < 1024 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
      };
      pump();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const keyFile = join(tempDir("mqa-hk-key-"), "key");
    writeFileSync(keyFile, "k", { mode: 0o600 });
    const { port } = server.address() as AddressInfo;
    bench = new SinkBench(() => new HyperKittySink(`http://127.0.0.1:${port}/hyperkitty/`, { hyperkittyKeyFile: keyFile }));
  });
  afterEach(async () => {
    server.closeAllConnections();
    server.close();
    await bench.close();
  });

  it("reads no more than MAX_ANSWER_BYTES of an answer, drops that connection, and retries on a new one", async () => {
    const sink = await bench.start(0);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const err = await expectSinkError(sink.store([sinkRecord("alpha@lists.example.org", 1)]));
      expect(err.transient, "a 502 is temporary").to.equal(true);
      expect(err.message).to.contain("answered 502").and.to.contain("bad gateway");
      expect(err.message.length, "the log line stays short").to.be.below(600);
    }
    // What the server managed to write before the peer let go: the cap and the socket buffers, not the gigabyte.
    expect(sent).to.be.below(64 * 1024 * 1024);
    expect(MAX_ANSWER_BYTES).to.equal(64 * 1024);
  });
});
