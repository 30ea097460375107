// `mq-archive publish` as Mailman runs it: the built CLI in a child process,
// checked against the outbox file it wrote. Run `npm run build` first.

import { expect } from "chai";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { makeMessage, sha256 } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";
import { outboxRecords, withOutbox } from "./outbox-util.js";

/** Options the runner's own environment might set; "" counts as not given. */
const NO_ENV_OPTIONS = { MQ_ARCHIVE_DB: "", MQ_ARCHIVE_LIST: "", MQ_ARCHIVE_CONFIG: "", MQ_ARCHIVE_MAX_SIZE: "" };

const SUMMARY = /^imported (\d+), duplicates (\d+), rejected (\d+) \([^)]+\)\n$/;

describe("mq-archive publish", () => {
  let dir: string;
  let db: string;
  beforeEach(() => {
    dir = tempDir("mqa-cli-");
    db = join(dir, "outbox.db");
  });

  /** A message file in the test directory. */
  const file = (name: string, body: Buffer | string): string => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  };
  const publish = (args: string[], input?: Buffer | string) =>
    runCli(["publish", "--db", db, "--list", "dev", ...args], {
      env: NO_ENV_OPTIONS,
      ...(input === undefined ? {} : { input }),
    });

  it("commits a message from FILE, prints its seq and exits 0", async () => {
    const m = makeMessage("dev", 1, 8192);
    const result = await publish([file("m1.eml", m.body)]);
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.equal("1\n");
    expect(result.stderr).to.equal("");
    const records = outboxRecords(db);
    expect(records).to.have.length(1);
    expect(records[0]).to.include({ seq: 1, list: "dev", messageId: m.messageId, kind: "message", size: m.body.length });
    expect(sha256(records[0]!.body)).to.equal(sha256(m.body));
  });

  it("commits messages from standard input, each under the next seq", async () => {
    const messages = [makeMessage("dev", 1, 3000), makeMessage("dev", 2, 5000)];
    const seqs: string[] = [];
    for (const m of messages) {
      const result = await publish([], m.body);
      expect(result.status, result.stderr).to.equal(0);
      seqs.push(result.stdout);
    }
    expect(seqs).to.deep.equal(["1\n", "2\n"]);
    expect(outboxRecords(db).map((r) => sha256(r.body))).to.deep.equal(messages.map((m) => sha256(m.body)));
  });

  it("answers a repeated (list, Message-ID) with the same seq, says so on stderr, and adds nothing", async () => {
    const m = makeMessage("dev", 1);
    const path = file("m1.eml", m.body);
    expect((await publish([path])).stdout).to.equal("1\n");
    const again = await publish([path]);
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stdout).to.equal("1\n");
    expect(again.stderr).to.include(m.messageId).and.to.include("already");
    expect(outboxRecords(db)).to.have.length(1);

    const otherList = await runCli(["publish", "--db", db, "--list", "announce", path], { env: NO_ENV_OPTIONS });
    expect(otherList.stdout, "the same Message-ID on another list is another record").to.equal("2\n");
  });

  it("gives a message without Message-ID a stable id and keeps its bytes", async () => {
    const body = Buffer.from("From: a@example.org\nSubject: no id\n\nhello \xe9\n", "latin1");
    const first = await publish([], body);
    const second = await publish([], body);
    expect([first.status, second.status]).to.deep.equal([0, 0]);
    expect(second.stdout).to.equal(first.stdout);
    const records = outboxRecords(db);
    expect(records).to.have.length(1);
    expect(records[0]!.messageId).to.match(/^<[0-9a-f]{64}@mq-archive\.invalid>$/);
    expect(records[0]!.body.equals(body)).to.equal(true);
  });

  // Regression test (issue 12, finding 4): a NUL in the Message-ID was committed as it was, and stalled every exec sink.
  it("gives a message whose Message-ID holds a NUL (or another control character) a derived id, exit 0, bytes kept", async () => {
    const nul = Buffer.from("From: a@example.org\nMessage-ID: <evil\x00id@example.org>\nSubject: nul\n\nhello\n", "latin1");
    const ctl = Buffer.from("From: a@example.org\nMessage-ID: <evil\x1b[2J\x07@example.org>\nSubject: esc\n\nhello\n", "latin1");
    for (const body of [nul, ctl]) {
      const result = await publish([], body);
      expect(result.status, result.stderr).to.equal(0);
      const again = await publish([], body);
      expect(again.stdout, "a retried publish finds the same derived id").to.equal(result.stdout);
    }
    const records = outboxRecords(db);
    expect(records.map((r) => r.messageId)).to.deep.equal([`<${sha256(nul)}@mq-archive.invalid>`, `<${sha256(ctl)}@mq-archive.invalid>`]);
    expect(records.map((r) => r.body)).to.deep.equal([nul, ctl]);
  });

  describe("refuses bad input with exit 65 and adds nothing", () => {
    const big = Buffer.concat([Buffer.from("Subject: big\n\n"), Buffer.alloc(2000, "x")]);
    const cases: Array<{ what: string; args: (f: typeof file) => string[]; input?: Buffer | string; stderr: RegExp }> = [
      { what: "empty input", args: () => [], input: "", stderr: /empty/ },
      { what: "input with no header block", args: () => [], input: "just text\nno headers here\n", stderr: /header block/ },
      { what: "a message over --max-size on stdin", args: () => ["--max-size", "1KiB"], input: big, stderr: /limit of 1024 bytes/ },
      { what: "a message over --max-size in FILE", args: (f) => ["--max-size", "1KiB", f("big.eml", big)], stderr: /limit of 1024 bytes/ },
      { what: "an invalid list name", args: (f) => ["--list", "../x", f("ok.eml", makeMessage("x", 1).body)], stderr: /invalid list name/ },
    ];
    for (const c of cases) {
      it(c.what, async () => {
        const seeded = makeMessage("dev", 100);
        withOutbox(db, (o) => o.records.append({ list: "dev", messageId: seeded.messageId, body: seeded.body }));
        const result = await publish(c.args(file), c.input);
        expect(result.status, result.stderr).to.equal(65);
        expect(result.stdout).to.equal("");
        expect(result.stderr).to.match(/^mq-archive: /).and.to.match(c.stderr);
        expect(outboxRecords(db).map((r) => r.messageId)).to.deep.equal([seeded.messageId]);
      });
    }
  });

  for (const missing of ["--db", "--list"]) {
    it(`exits 64 naming ${missing} when it is missing`, async () => {
      const args = ["--db", db, "--list", "dev"];
      args.splice(args.indexOf(missing), 2);
      const result = await runCli(["publish", ...args, file("m.eml", makeMessage("dev", 1).body)], { env: NO_ENV_OPTIONS });
      expect(result.status).to.equal(64);
      expect(result.stderr).to.include(`missing required option ${missing}`);
      expect(existsSync(db)).to.equal(false);
    });
  }

  it("exits non-zero naming the outbox when it cannot be opened", async () => {
    db = join(dir, "no-such-directory", "outbox.db");
    const result = await publish([file("m.eml", makeMessage("dev", 1).body)]);
    expect(result.status).to.be.a("number").and.not.equal(0);
    expect(result.stdout).to.equal("");
    expect(result.stderr).to.include(db);
  });

  it("exits 66 naming a FILE that does not exist", async () => {
    const missing = join(dir, "nope.eml");
    const result = await publish([missing]);
    expect(result.status).to.equal(66);
    expect(result.stderr).to.include(missing);
  });

  // Regression test (fixed): lib/ingest/read-input.ts:17 (readMessageFile) turns only a failed open() into NoInputError; open() of a directory succeeds on Linux and readFile()...
  it("exits 66 with a clear message when FILE is a directory", async () => {
    const result = await publish([dir]);
    expect(result.status).to.equal(66);
    expect(result.stderr).to.include(`cannot read message file ${dir}`);
    expect(result.stderr).to.not.include("internal error");
  });

  it("takes --db and --list from MQ_ARCHIVE_DB and MQ_ARCHIVE_LIST", async () => {
    const m = makeMessage("from-env", 1);
    const result = await runCli(["publish", file("m.eml", m.body)], {
      env: { ...NO_ENV_OPTIONS, MQ_ARCHIVE_DB: db, MQ_ARCHIVE_LIST: "from-env" },
    });
    expect(result.status, result.stderr).to.equal(0);
    expect(outboxRecords(db).map((r) => [r.list, sha256(r.body)])).to.deep.equal([["from-env", sha256(m.body)]]);
  });

  it("lets the command line win over the environment", async () => {
    const result = await runCli(["publish", "--list", "from-cli", file("m.eml", makeMessage("x", 1).body)], {
      env: { ...NO_ENV_OPTIONS, MQ_ARCHIVE_DB: db, MQ_ARCHIVE_LIST: "from-env" },
    });
    expect(result.status, result.stderr).to.equal(0);
    expect(outboxRecords(db).map((r) => r.list)).to.deep.equal(["from-cli"]);
  });

  it("takes options from a --config JSON file, its publish section over top-level keys", async () => {
    const config = file("config.json", JSON.stringify({ db, list: "top-level", publish: { list: "from-section" } }));
    const m = makeMessage("x", 1);
    const result = await runCli(["publish", "--config", config], { input: m.body, env: NO_ENV_OPTIONS });
    expect(result.status, result.stderr).to.equal(0);
    expect(outboxRecords(db).map((r) => [r.list, sha256(r.body)])).to.deep.equal([["from-section", sha256(m.body)]]);
  });

  it("refuses a config file with an unknown option, naming it", async () => {
    const config = file("config.json", JSON.stringify({ db, lsit: "dev" }));
    const result = await runCli(["publish", "--config", config, "--list", "dev"], {
      input: makeMessage("dev", 1).body,
      env: NO_ENV_OPTIONS,
    });
    expect(result.status).to.equal(78);
    expect(result.stderr).to.include('unknown option "lsit"').and.to.include(config);
    expect(existsSync(db)).to.equal(false);
  });

  it("prints help for --help and exits 0", async () => {
    const result = await runCli(["publish", "--help"]);
    expect(result.status, result.stderr).to.equal(0);
    for (const option of ["--db", "--list", "--mbox", "--maildir", "--max-size", "MQ_ARCHIVE_DB"]) {
      expect(result.stdout).to.include(option);
    }
  });

  describe("bulk import", () => {
    /** An mboxrd file of these bodies, quoted by hand (not with the project's own quoting). */
    const mboxOf = (bodies: readonly Buffer[]): Buffer =>
      Buffer.concat(
        bodies.flatMap((b) => [
          Buffer.from("From sender@example.org Mon Nov 30 12:00:00 2026\n"),
          Buffer.from(b.toString("latin1").replace(/^(>*From )/gm, ">$1"), "latin1"),
          Buffer.from("\n"),
        ]),
      );

    it("imports every message of an mbox, then reports them all as duplicates", async () => {
      const bodies = [1, 2, 3, 4, 5].map((i) => makeMessage("dev", i, 500 + i * 700).body);
      const mbox = file("archive.mbox", mboxOf(bodies));
      const first = await publish(["--mbox", mbox]);
      expect(first.status, first.stderr).to.equal(0);
      expect(SUMMARY.exec(first.stdout)?.slice(1)).to.deep.equal(["5", "0", "0"]);
      expect(outboxRecords(db).map((r) => sha256(r.body))).to.deep.equal(bodies.map(sha256));

      const second = await publish(["--mbox", mbox]);
      expect(second.status, second.stderr).to.equal(0);
      expect(SUMMARY.exec(second.stdout)?.slice(1)).to.deep.equal(["0", "5", "0"]);
      expect(outboxRecords(db)).to.have.length(5);
    });

    it("imports cur/ and new/ of a maildir (not tmp/), then reports them all as duplicates", async () => {
      const maildir = join(dir, "Maildir");
      for (const sub of ["cur", "new", "tmp"]) mkdirSync(join(maildir, sub), { recursive: true });
      const bodies = [1, 2, 3, 4, 5].map((i) => makeMessage("dev", i).body);
      bodies.forEach((b, i) => writeFileSync(join(maildir, i < 2 ? "cur" : "new", `170000000${i}.M1P1.host${i < 2 ? ":2,S" : ""}`), b));
      writeFileSync(join(maildir, "tmp", "1700000009.M9P9.host"), makeMessage("dev", 9).body);

      const first = await publish(["--maildir", maildir]);
      expect(first.status, first.stderr).to.equal(0);
      expect(SUMMARY.exec(first.stdout)?.slice(1)).to.deep.equal(["5", "0", "0"]);
      expect(outboxRecords(db).map((r) => sha256(r.body)).sort()).to.deep.equal(bodies.map(sha256).sort());

      const second = await publish(["--maildir", maildir]);
      expect(SUMMARY.exec(second.stdout)?.slice(1)).to.deep.equal(["0", "5", "0"]);
    });

    // Regression test (issue 12, finding 4): bulk import kept a Message-ID with a NUL in it.
    it("gives a message of an mbox whose Message-ID holds a NUL a derived id, as publish does", async () => {
      const nul = Buffer.from("From: a@example.org\nMessage-ID: <evil\x00id@example.org>\nSubject: nul\n\nhello\n", "latin1");
      const good = makeMessage("dev", 1);
      const result = await publish(["--mbox", file("archive.mbox", mboxOf([nul, good.body]))]);
      expect(result.status, result.stderr).to.equal(0);
      expect(SUMMARY.exec(result.stdout)?.slice(1)).to.deep.equal(["2", "0", "0"]);
      expect(outboxRecords(db).map((r) => [r.messageId, sha256(r.body)])).to.deep.equal([
        [`<${sha256(nul)}@mq-archive.invalid>`, sha256(nul)],
        [good.messageId, sha256(good.body)],
      ]);
    });

    it("rejects a bad message of an mbox by name, imports the rest, and exits 65", async () => {
      const good = [1, 2, 4, 5].map((i) => makeMessage("dev", i).body);
      const bad = Buffer.from("this message has no header block\n\n");
      const mbox = file("archive.mbox", mboxOf([good[0]!, good[1]!, bad, good[2]!, good[3]!]));
      const result = await publish(["--mbox", mbox]);
      expect(result.status).to.equal(65);
      expect(SUMMARY.exec(result.stdout)?.slice(1)).to.deep.equal(["4", "0", "1"]);
      expect(result.stderr).to.include(`message 3 of ${mbox}`).and.to.match(/header block/);
      expect(outboxRecords(db).map((r) => sha256(r.body))).to.deep.equal(good.map(sha256));
    });
  });
});
