import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ExecSink, type ExecOptions } from "../../lib/sinks/exec.js";
import { sha256 } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";
import { batch, expectSinkError, readSeqFiles, SinkBench, sinkContract } from "./contract.js";
import { OUTBOX, sinkRecord } from "./records.js";

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * An archiver in shell: logs every run's MQA_SEQ to DIR.runs, and writes the
 * message to DIR/$MQA_LIST.$MQA_SEQ unless that file exists (so a redelivered
 * record, which the exec sink runs again, is stored once).
 */
function archiveCommand(dir: string): string {
  return (
    `mkdir -p ${q(dir)} && echo "$MQA_SEQ" >> ${q(`${dir}.runs`)} && f=${q(dir)}/"$MQA_LIST.$MQA_SEQ" && ` +
    `if [ -e "$f" ]; then exit 0; fi && cat > "$f.tmp" && mv "$f.tmp" "$f"`
  );
}

const runs = (dir: string): number[] =>
  existsSync(`${dir}.runs`) ? readFileSync(`${dir}.runs`, "utf8").trim().split("\n").map(Number) : [];

sinkContract("exec", (dir) => new ExecSink(archiveCommand(dir)), readSeqFiles, {
  // Regression test (fixed): lib/sinks/exec.ts:34-40 (store) never checks the list name, unlike maildir and mbox (storeSafeLists, sink.ts:51). A record from a hostile or broken...
});

describe("ExecSink", () => {
  let bench: SinkBench;
  let execOptions: ExecOptions;
  let command: (dir: string) => string;
  beforeEach(() => {
    execOptions = {};
    command = archiveCommand;
    bench = new SinkBench((dir) => new ExecSink(command(dir), execOptions));
  });
  /** Files holding the pid of a process a test's command left behind, to kill after it (even on timeout). */
  const orphans: string[] = [];
  afterEach(async () => {
    for (const pidFile of orphans.splice(0)) {
      if (!existsSync(pidFile)) continue;
      try {
        process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    await bench.close();
  });

  /** Run `script` first; when it does not exit, archive the message as archiveCommand does. */
  const before = (script: string) => (dir: string) => `${script}\n${archiveCommand(dir)}`;

  it("runs the command again for a record redelivered after a restart, with the same MQA_SEQ", async () => {
    const records = batch(1, 3);
    await (await bench.start(0)).store(records);
    await (await bench.start(0)).store(records);
    expect(runs(bench.dir), "at least once: every run").to.deep.equal([1, 2, 3, 1, 2, 3]);
    for (const r of records) expect((await readSeqFiles(bench.dir, r.list)).map(sha256)).to.deep.equal([sha256(r.body)]);
  });

  it("treats exit 75 as a temporary failure and stops the batch there", async () => {
    command = before(`[ "$MQA_SEQ" = 3 ] && { echo "try later" >&2; exit 75; }`);
    const sink = await bench.start(0);
    const err = await expectSinkError(sink.store(batch(1, 5, ["alpha"])));
    expect(err.transient).to.equal(true);
    expect(err.code).to.equal("SINK_TEMPORARY");
    expect(err.stored).to.equal(2);
    expect(err.message).to.include("try later");
    expect(runs(bench.dir), "records after the failure are not attempted").to.deep.equal([1, 2]);
    expect(await readSeqFiles(bench.dir, "alpha")).to.have.length(2);
  });

  it("treats exit 65 as a permanent failure, with the command's stderr in the message", async () => {
    command = before(`[ "$MQA_SEQ" = 2 ] && { echo "malformed message" >&2; exit 65; }`);
    const sink = await bench.start(0);
    const err = await expectSinkError(sink.store(batch(1, 3, ["alpha"])));
    expect(err.transient).to.equal(false);
    expect(err.code).to.equal("SINK_PERMANENT");
    expect(err.stored).to.equal(1);
    expect(err.message).to.include("malformed message");
    expect(runs(bench.dir)).to.deep.equal([1]);
  });

  it("treats a command killed by a signal as a permanent failure", async () => {
    command = () => "kill -KILL $$";
    const sink = await bench.start(0);
    const err = await expectSinkError(sink.store([sinkRecord("alpha", 1)]));
    expect(err.transient).to.equal(false);
    expect(err.stored).to.equal(0);
    expect(err.message).to.include("SIGKILL");
  });

  it("kills a command that runs past its timeout, as a failed attempt", async () => {
    execOptions = { timeoutMs: 100 };
    command = () => "exec sleep 120";
    const sink = await bench.start(0);
    const err = await expectSinkError(sink.store([sinkRecord("alpha", 1)]));
    expect(err.transient).to.equal(false);
    expect(err.message).to.include("SIGKILL");
  });

  // Regression test (fixed): lib/sinks/exec.ts:66 kills only the /bin/sh it spawned (child.kill, not the process group), and line 72 waits for "close", i.e. for every holder of...
  it("kills a command past its timeout even when the command has children of its own", async function () {
    this.timeout(15_000);
    const pidFile = join(bench.base, "sleep.pid");
    orphans.push(pidFile);
    execOptions = { timeoutMs: 100 };
    command = () => `sleep 120 & echo $! > ${q(pidFile)}; wait`;
    const sink = await bench.start(0);
    const err = await expectSinkError(sink.store([sinkRecord("alpha", 1)]));
    expect(err.transient).to.equal(false);
  });

  it("gives the command MQA_LIST, MQA_SEQ, MQA_MESSAGE_ID and the rest, unmangled by the shell", async () => {
    const envFile = join(tempDir(), "env.txt");
    command = () =>
      `printf '%s\\n' "$MQA_LIST" "$MQA_SEQ" "$MQA_MESSAGE_ID" "$MQA_OUTBOX" "$MQA_KIND" "$MQA_RECEIVED_AT" > ${q(envFile)}`;
    const injected = join(bench.base, "injected");
    const record = { ...sinkRecord("dev@lists.example.org", 42), messageId: `<$(touch ${injected})"'\`x\`@example.org>` };
    const sink = await bench.start(0);
    await sink.store([record]);
    expect(readFileSync(envFile, "utf8").split("\n")).to.deep.equal([
      "dev@lists.example.org",
      "42",
      record.messageId,
      OUTBOX,
      "message",
      new Date(record.receivedAt).toISOString(),
      "",
    ]);
    expect(existsSync(injected), "the Message-ID was run as shell code").to.equal(false);
  });

  // Regression test (issue 12, finding 4): a NUL in MQA_MESSAGE_ID made spawn throw a TypeError, not a SinkError, retried forever as temporary.
  it("refuses, as a permanent failure naming the variable, a record whose environment would hold a NUL", async () => {
    const sink = await bench.start(0);
    const records = batch(1, 3, ["alpha"]);
    records[1] = { ...records[1]!, messageId: "<evil\0id@example.org>" };
    const err = await expectSinkError(sink.store(records));
    expect(err.transient).to.equal(false);
    expect(err.stored).to.equal(1);
    expect(err.message).to.include("MQA_MESSAGE_ID").and.to.include("NUL");
    expect(runs(bench.dir), "the command does not run for it").to.deep.equal([1]);
    await sink.store(records.slice(2));
    expect(runs(bench.dir)).to.deep.equal([1, 3]);
  });

  it("passes a 1 MiB body on stdin byte for byte", async () => {
    const record = sinkRecord("alpha", 1, 1024 * 1024);
    const sink = await bench.start(0);
    await sink.store([record]);
    expect((await readSeqFiles(bench.dir, "alpha")).map(sha256)).to.deep.equal([sha256(record.body)]);
  });

  for (const script of ["true", "head -c 10 > /dev/null"]) {
    it(`succeeds when the command does not read all of a 1 MiB body (${script})`, async () => {
      command = () => script;
      const sink = await bench.start(0);
      await sink.store([sinkRecord("alpha", 1, 1024 * 1024), sinkRecord("alpha", 2, 1024 * 1024)]);
    });
  }
});
