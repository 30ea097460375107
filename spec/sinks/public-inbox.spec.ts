// The public-inbox sink with Debian's public-inbox behind it: the shared
// sink contract, then what public-inbox's exit statuses cannot tell
// (duplicates, messages without Message-ID, exit 0 without storing), its
// refusals, and its emergency Maildir. Every check of what an inbox holds
// goes through public-inbox's own Perl modules (spec/helpers/public-inbox).

import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { parseSink } from "../../lib/sinks/parse.js";
import { PublicInboxSink } from "../../lib/sinks/public-inbox.js";
import type { SinkRecord } from "../../lib/sinks/sink.js";
import { sha256 } from "../helpers/messages.js";
import { asDelivered, PiSite, publicInboxMissing } from "../helpers/public-inbox.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { expectSinkError, SinkBench, sinkContract } from "./contract.js";
import { OUTBOX, sinkRecord } from "./records.js";
import { SYNC_CHILD } from "../helpers/sync-limit.js";

describe("parseSink: public-inbox", () => {
  it("takes the config file after the colon, resolved, and $PI_CONFIG (else ~/.public-inbox/config) without one", () => {
    expect(parseSink("public-inbox:pi/config").name).to.equal(`public-inbox:${join(process.cwd(), "pi/config")}`);
    const saved = process.env.PI_CONFIG;
    process.env.PI_CONFIG = "/srv/pi/config";
    try {
      expect(parseSink("public-inbox").name).to.equal("public-inbox:/srv/pi/config");
      delete process.env.PI_CONFIG;
      expect(parseSink("public-inbox").name).to.equal(`public-inbox:${join(homedir(), ".public-inbox", "config")}`);
    } finally {
      if (saved === undefined) delete process.env.PI_CONFIG;
      else process.env.PI_CONFIG = saved;
    }
  });
});

const missing = publicInboxMissing();
if (missing) console.warn(`\n  !!! SKIPPING the public-inbox sink tests: ${missing}.\n`);
const suite = missing ? describe.skip : describe;

/** The contract's lists, each an inbox named after it with the address its test messages are sent To. */
function contractSite(dir: string): PiSite {
  const site = new PiSite(dir);
  if (!existsSync(site.config)) {
    mkdirSync(dir, { recursive: true });
    for (const list of ["alpha", "beta", "gamma"]) site.addInbox(list, `${list}@lists.example.org`);
  }
  return site;
}

suite("public-inbox sink (Debian's public-inbox)", function () {
  // public-inbox-init takes 1–2.5 s and -mda ~0.5–1.2 s per message on this busy 2-core machine.
  this.timeout(180_000);

  sinkContract(
    "public-inbox",
    (dir) => new PublicInboxSink(contractSite(dir).config),
    async (dir, list) => {
      const site = new PiSite(dir);
      if (!existsSync(site.config)) return [];
      return site.messages(list).map((m) => asDelivered(m, `${list}@lists.example.org`));
    },
  );

  describe("PublicInboxSink", () => {
    let site: PiSite;
    let bench: SinkBench;
    beforeEach(() => {
      site = new PiSite();
      site.addInbox("dev", "dev@example.org");
      bench = new SinkBench(() => new PublicInboxSink(site.config));
    });
    afterEach(async () => {
      await bench.close();
    });

    const message = (seq: number, text: string, list = "dev@example.org"): SinkRecord => ({
      outbox: OUTBOX,
      seq,
      kind: "message",
      list,
      messageId: `<derived-${seq}@mq-archive>`,
      receivedAt: Date.UTC(2026, 10, 30) + seq,
      body: Buffer.from(text),
    });
    /** A sink started as SinkBench starts one, with its log lines kept. */
    const startLogged = async (sink = new PublicInboxSink(site.config)): Promise<{ sink: PublicInboxSink; lines: Array<Record<string, unknown>> }> => {
      const lines: Array<Record<string, unknown>> = [];
      const capture = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString())), done()) });
      const log = pino({ level: "debug" }, capture);
      await sink.start({ journal: bench.state.journal(sink.name), committed: 0, position: () => 0, commits: () => 0, outbox: OUTBOX, log, problem: () => {} });
      return { sink, lines };
    };
    const emergencyFiles = (): string[] =>
      ["new", "tmp"].flatMap((sub) => (existsSync(join(site.emergency, sub)) ? readdirSync(join(site.emergency, sub)) : []));

    it("stores a list named by its posting address in the inbox with that address, byte for byte", async () => {
      const records = [1, 2, 3].map((seq) => ({ ...sinkRecord("dev", seq, 3000), list: "dev@example.org" }));
      const sink = await bench.start(0);
      await sink.store(records);
      expect(site.messages("dev").map((m) => sha256(asDelivered(m, "dev@example.org")))).to.deep.equal(records.map((r) => sha256(r.body)));
      expect(site.stored("dev", records.map((r) => r.body))).to.deep.equal(records.map(() => ({ count: 1, byMid: true })));
      expect(emergencyFiles(), "emergency Maildir").to.deep.equal([]);
    });

    it("stores a message redelivered with the same bytes once, without running -mda on it again", async () => {
      const records = [1, 2].map((seq) => ({ ...sinkRecord("dev", seq), list: "dev@example.org" }));
      await (await bench.start(0)).store(records);
      const again = await startLogged();
      await again.sink.store(records);
      await again.sink.close();
      expect(again.lines.filter((l) => l.msg === "public-inbox: batch given to public-inbox-mda").map((l) => [l.replays, l.ran])).to.deep.equal([[2, 0]]);
      expect(site.stored("dev", records.map((r) => r.body))).to.deep.equal([
        { count: 1, byMid: true },
        { count: 1, byMid: true },
      ]);
      // -mda would have left a CONFLICT copy in the emergency Maildir for each.
      expect(emergencyFiles(), "emergency Maildir").to.deep.equal([]);
    });

    it("stores a message without Message-ID once, under digest2mid(content_digest), also without a Date and redelivered", async () => {
      const dated = message(1, "From: a@example.org\nTo: dev@example.org\nSubject: no id\nDate: Mon, 30 Nov 2026 12:00:00 +0000\n\ndated\n");
      const undated = message(2, "From: a@example.org\nTo: dev@example.org\nSubject: no id, no date\n\nundated\n");
      await (await bench.start(0)).store([dated, undated]);
      await (await bench.start(0)).store([dated, undated]);
      const [d, u] = site.stored("dev", [dated.body, undated.body]);
      expect(d, "dated").to.deep.equal({ count: 1, byMid: true });
      // Without a Date the Message-ID -mda makes carries the time of import: the digest part finds it.
      expect(u!.count, "undated").to.equal(1);
      expect(site.messages("dev").map((m) => asDelivered(m, "dev@example.org").toString()), "as delivered, once each").to.deep.equal([
        dated.body.toString(),
        undated.body.toString(),
      ]);
    });

    it("public-inbox-mda alone stores a message without Message-ID and Date twice when it comes again (why the sink checks first)", async () => {
      const undated = message(1, "From: a@example.org\nTo: dev@example.org\nSubject: twice\n\nbody\n");
      const { execFileSync } = await import("node:child_process");
      const env = { ...site.env, ORIGINAL_RECIPIENT: "dev@example.org" };
      for (let i = 0; i < 2; i++) execFileSync("public-inbox-mda", ["--no-precheck"], { env, input: undated.body, stdio: "pipe", ...SYNC_CHILD });
      expect(site.stored("dev", [undated.body])[0]!.count).to.equal(2);
    });

    it("fails a message the inbox refuses (exit 65: HTML and the default filter) permanently, naming the filter, after storing those before", async () => {
      site.addInbox("strict", "strict@example.org", { filter: "default" });
      const plain = message(1, "From: a@example.org\nTo: strict@example.org\nSubject: plain\nMessage-ID: <plain@x>\n\ntext\n", "strict@example.org");
      const html = message(2, "From: a@example.org\nTo: strict@example.org\nSubject: html\nMessage-ID: <html@x>\nContent-Type: text/html\n\n<p>hi</p>\n", "strict@example.org");
      const after = message(3, "From: a@example.org\nTo: strict@example.org\nSubject: after\nMessage-ID: <after@x>\n\ntext\n", "strict@example.org");
      const sink = await bench.start(0);
      const err = await expectSinkError(sink.store([plain, html, after]));
      expect(err.transient).to.equal(false);
      expect(err.stored).to.equal(1);
      expect(err.message).to.include("exit 65").and.include("No HTML").and.include("PublicInbox::Filter::Base").and.include("publicinbox.strict.filter");
      expect(site.stored("strict", [plain.body, html.body, after.body]).map((s) => s.count)).to.deep.equal([1, 0, 0]);
      expect(emergencyFiles(), "our -mda's copy is removed: the dead letter keeps the bytes").to.deep.equal([]);
    });

    it("fails a message of a list no inbox has the address of permanently, naming publicinbox.NAME.address, without running -mda", async () => {
      const sink = await bench.start(0);
      const ok = message(1, "From: a@example.org\nTo: dev@example.org\nSubject: ok\nMessage-ID: <ok@x>\n\ntext\n");
      const lost = message(2, "From: a@example.org\nTo: nobody@example.org\nSubject: lost\nMessage-ID: <lost@x>\n\ntext\n", "nobody@example.org");
      const err = await expectSinkError(sink.store([ok, lost]));
      expect(err.transient).to.equal(false);
      expect(err.stored).to.equal(1);
      expect(err.message).to.include("publicinbox.NAME.address = nobody@example.org").and.include(site.config);
      expect(emergencyFiles()).to.deep.equal([]);
      site.addInbox("nobody", "nobody@example.org");
      await sink.store([lost]); // what a dead-letter retry does once the inbox exists
      expect(site.stored("nobody", [lost.body])).to.deep.equal([{ count: 1, byMid: true }]);
    });

    it("waits (a temporary failure) while an inbox's directory is gone or empty (a disk not mounted), naming it, then stores once it is back", async () => {
      site.addInbox("gone", "gone@example.org");
      const sink = await bench.start(0);
      const text = (n: number) => `From: a@example.org\nTo: gone@example.org\nSubject: m${n}\nMessage-ID: <m${n}@x>\n\ntext\n`;
      const first = message(1, text(1), "gone@example.org");
      await sink.store([first]);
      const dir = join(site.dir, "gone");
      renameSync(dir, `${dir}.away`);
      const next = message(2, text(2), "gone@example.org");
      for (const state of ["gone", "empty"]) {
        if (state === "empty") mkdirSync(dir); // the mount point of a disk not mounted
        const err = await expectSinkError(sink.store([next]));
        expect(err.transient, state).to.equal(true);
        expect(err.stored, state).to.equal(0);
        expect(err.message, state).to.include(dir).and.include("publicinbox.gone.inboxdir");
      }
      rmSync(dir, { recursive: true });
      renameSync(`${dir}.away`, dir);
      await sink.store([next]);
      expect(site.stored("gone", [first.body, next.body]).map((s) => s.count)).to.deep.equal([1, 1]);
    });

    it("takes a list name without @ for the inbox name, and says so when there is no such inbox", async () => {
      const sink = await bench.start(0);
      const named = { ...sinkRecord("dev", 1), list: "dev" };
      await sink.store([named]);
      expect(site.stored("dev", [named.body])).to.deep.equal([{ count: 1, byMid: true }]);
      const err = await expectSinkError(sink.store([{ ...sinkRecord("ops", 2), list: "ops" }]));
      expect(err.transient).to.equal(false);
      expect(err.message).to.include("no public-inbox inbox named ops").and.include("public-inbox-init -V2 ops");
    });

    it("fails permanently when -mda exits 0 without storing (a spam verdict), and removes the copy it left", async () => {
      // spamc (SpamAssassin) is not installed here: a stand-in on PATH says every message is spam (exit 1).
      const bin = tempDir("mqa-spamc-");
      writeFileSync(join(bin, "spamc"), "#!/bin/sh\ncat >/dev/null\nexit 1\n");
      chmodSync(join(bin, "spamc"), 0o755);
      site.set("publicinboxmda.spamcheck", "spamc");
      const path = process.env.PATH;
      process.env.PATH = `${bin}:${path}`;
      try {
        const sink = await bench.start(0);
        const spam = message(1, "From: a@example.org\nTo: dev@example.org\nSubject: buy\nMessage-ID: <spam@x>\n\nnow\n");
        const err = await expectSinkError(sink.store([spam]));
        expect(err.transient).to.equal(false);
        expect(err.stored).to.equal(0);
        expect(err.message).to.include("exited 0 but the message is not in inbox dev").and.include("<spam@x>").and.include("spamcheck");
        expect(site.messages("dev")).to.deep.equal([]);
        expect(emergencyFiles()).to.deep.equal([]);
      } finally {
        process.env.PATH = path;
      }
    });

    it("stops before a message the inbox's filter ignores (-mda would exit 0 without storing it), permanently", async () => {
      // A filter of the operator's own (public-inbox loads publicinbox.NAME.filter as a Perl module).
      const lib = tempDir("mqa-pi-filter-");
      mkdirSync(join(lib, "MqaTest"));
      const filter = "package MqaTest::IgnoreMuted;\nuse parent 'PublicInbox::Filter::Base';\n" +
        "sub delivery { my ($self, $eml) = @_; ($eml->header('Subject') // '') =~ /muted/ ? PublicInbox::Filter::Base::IGNORE() : $self->ACCEPT($eml) }\n1;\n";
      writeFileSync(join(lib, "MqaTest", "IgnoreMuted.pm"), filter);
      site.set("publicinbox.dev.filter", "MqaTest::IgnoreMuted");
      const saved = process.env.PERL5LIB;
      process.env.PERL5LIB = lib;
      try {
        const { sink, lines } = await startLogged();
        const ok = message(1, "From: a@example.org\nTo: dev@example.org\nSubject: fine\nMessage-ID: <fine@x>\n\ntext\n");
        const muted = message(2, "From: a@example.org\nTo: dev@example.org\nSubject: muted\nMessage-ID: <muted@x>\n\ntext\n");
        const later = message(3, "From: a@example.org\nTo: dev@example.org\nSubject: later\nMessage-ID: <later@x>\n\ntext\n");
        const err = await expectSinkError(sink.store([ok, muted, later]));
        expect(err.transient).to.equal(false);
        expect(err.stored).to.equal(1);
        expect(err.message).to.include("not given to public-inbox-mda").and.include("MqaTest::IgnoreMuted ignores it").and.include("<muted@x>");
        expect(lines.filter((l) => l.msg === "public-inbox: batch given to public-inbox-mda").map((l) => l.ran), "-mda runs").to.deep.equal([1]);
        expect(site.stored("dev", [ok.body, muted.body, later.body]).map((x) => x.count)).to.deep.equal([1, 0, 0]);
        await sink.close();
      } finally {
        if (saved === undefined) delete process.env.PERL5LIB;
        else process.env.PERL5LIB = saved;
      }
    });

    it("kills -mda waiting past --public-inbox-timeout on an inbox lock another holds: a temporary failure, then stored once", async () => {
      const lock = join(site.dir, "dev", "inbox.lock");
      // What public-inbox-index or -watch does while it works: hold the inbox's flock.
      const holder = spawn("flock", [lock, "sleep", "600"], { detached: true, stdio: "ignore" });
      try {
        await waitFor(() => spawnSync("flock", ["-n", lock, "true"], SYNC_CHILD).status === 1, { what: "the lock to be held" });
        const { sink } = await startLogged(new PublicInboxSink(site.config, { publicInboxTimeoutMs: 5000 }));
        const record = { ...sinkRecord("dev", 1), list: "dev@example.org" };
        const err = await expectSinkError(sink.store([record]));
        expect(err.transient).to.equal(true);
        expect(err.stored).to.equal(0);
        expect(err.message).to.include("ran past 5000 ms").and.include("lock");
        await sink.close();
        process.kill(-holder.pid!, "SIGKILL");
        // Retried with no limit: -mda alone takes 1–3 s on this busy machine.
        const { sink: again } = await startLogged(new PublicInboxSink(site.config));
        await again.store([record]);
        await again.close();
        expect(site.stored("dev", [record.body])).to.deep.equal([{ count: 1, byMid: true }]);
        expect(emergencyFiles(), "the killed -mda's copy (in tmp/) is removed too").to.deep.equal([]);
      } finally {
        try {
          process.kill(-holder.pid!, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    });

    it("reports messages waiting in the emergency Maildir (not its own) at start and leaves them", async () => {
      mkdirSync(join(site.emergency, "new"), { recursive: true });
      writeFileSync(join(site.emergency, "new", "1700000000.4242_0.elsewhere"), "Subject: left\n\nx\n");
      const { sink, lines } = await startLogged();
      await sink.store([{ ...sinkRecord("dev", 1), list: "dev@example.org" }]);
      const warned = lines.filter((l) => String(l.msg).startsWith("public-inbox emergency Maildir holds messages"));
      expect(warned, "warned once: the count did not change").to.have.length(1);
      expect(warned[0]).to.include({ count: 1, emergency: join(site.emergency, "new") });
      expect(emergencyFiles()).to.deep.equal(["1700000000.4242_0.elsewhere"]);
      await sink.close();
    });

    it("waits (a temporary failure) while the config file is missing", async () => {
      const sink = new PublicInboxSink(join(site.dir, "no-such-config"));
      const err = await expectSinkError(sink.start({ journal: bench.state.journal(sink.name), committed: 0, position: () => 0, commits: () => 0, outbox: OUTBOX, log: pino({ level: "silent" }), problem: () => {} }));
      expect(err.transient).to.equal(true);
      expect(err.message).to.include("no-such-config").and.include("PI_CONFIG");
    });

    it("passes list events by, as stored", async () => {
      const sink = await bench.start(0);
      const event = { ...message(1, '{"id":"e1","type":"member-subscribed"}'), kind: "event" as const };
      await sink.store([event, { ...sinkRecord("dev", 2), list: "dev@example.org" }]);
      expect(site.messages("dev")).to.have.length(1);
    });
  });
});
