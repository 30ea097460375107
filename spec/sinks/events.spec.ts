import { expect } from "chai";
import { randomInt } from "node:crypto";
import { appendFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "../../lib/log.js";
import { EventsSink, eventLine, eventsFileName } from "../../lib/sinks/events.js";
import { parseSink } from "../../lib/sinks/parse.js";
import type { SinkRecord } from "../../lib/sinks/sink.js";
import { SubscriberState } from "../../lib/store/state.js";
import { sha256 } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";
import { expectSinkError, SinkBench, sinkContract } from "./contract.js";
import { sinkModesContract } from "./modes.js";
import { CRASH_LISTS, crashEventRecord, eventRecord, OUTBOX, sinkRecord } from "./records.js";
import { killableWriter } from "./killable-writer.js";

/** Each line of DIR/<list>.jsonl without its newline: for an event published by `publish`, its body. */
async function readEvents(dir: string, list: string): Promise<Buffer[]> {
  const file = join(dir, eventsFileName(list));
  if (!existsSync(file)) return [];
  const text = readFileSync(file, "utf8");
  expect(text === "" || text.endsWith("\n"), "the file ends with a whole line").to.equal(true);
  return text.split("\n").slice(0, -1).map((line) => Buffer.from(line));
}

sinkContract("events", (dir) => new EventsSink(dir), readEvents, { record: eventRecord });
sinkModesContract("events", (dir) => new EventsSink(dir), eventRecord);

describe("EventsSink", () => {
  let bench: SinkBench;
  beforeEach(() => {
    bench = new SinkBench((dir) => new EventsSink(dir));
  });
  afterEach(async () => {
    await bench.close();
  });

  const lines = (list: string): Array<Record<string, unknown>> =>
    existsSync(join(bench.dir, `${list}.jsonl`))
      ? readFileSync(join(bench.dir, `${list}.jsonl`), "utf8").split("\n").slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
  const ids = (list: string): unknown[] => lines(list).map((l) => l.id);

  it("appends events as JSON lines in seq order and passes messages by, as stored", async () => {
    const sink = await bench.start(0);
    const records = [sinkRecord("alpha", 1), eventRecord("alpha", 2), sinkRecord("beta", 3), eventRecord("alpha", 4), eventRecord("beta", 5), sinkRecord("gamma", 6)];
    await sink.store(records);
    expect(ids("alpha")).to.deep.equal(["alpha-2", "alpha-4"]);
    expect(ids("beta")).to.deep.equal(["beta-5"]);
    expect(readdirSync(bench.dir).sort(), "no file for a list that had only messages").to.deep.equal(["alpha.jsonl", "beta.jsonl"]);
    expect(lines("alpha")[0]).to.deep.equal(JSON.parse(records[1]!.body.toString()));
  });

  it("writes each event with its id, type and list first; an id missing from the body comes from the record", async () => {
    const sink = await bench.start(0);
    const body = Buffer.from(JSON.stringify({ at: "2026-12-01T00:00:00.000Z", type: "list-created", extra: [1] }));
    await sink.store([{ ...eventRecord("alpha", 1), messageId: "event:from-record", body }]);
    const text = readFileSync(join(bench.dir, "alpha.jsonl"), "utf8");
    expect(text).to.equal('{"id":"from-record","type":"list-created","list":"alpha","at":"2026-12-01T00:00:00.000Z","extra":[1]}\n');
  });

  it("takes the list from the record, not from the body", () => {
    const r = eventRecord("alpha", 1);
    const line = eventLine({ ...r, body: Buffer.from(r.body.toString().replace('"list":"alpha"', '"list":"other"')) });
    expect(JSON.parse(line.line)).to.include({ list: "alpha", id: "alpha-1" });
  });

  it("cuts back an append stored but not committed before a crash, so storing it again gives one line each", async () => {
    const before = await bench.start(0);
    await before.store([eventRecord("alpha", 1), eventRecord("beta", 2)]);
    bench.commit(2);
    await before.store([eventRecord("alpha", 3), sinkRecord("alpha", 4), eventRecord("alpha", 5), eventRecord("beta", 6)]);
    // A crash here: 3..6 are written but not committed.
    const after = await bench.start(2);
    expect(ids("alpha"), "cut back at start").to.deep.equal(["alpha-1"]);
    await after.store([eventRecord("alpha", 3), sinkRecord("alpha", 4), eventRecord("alpha", 5), eventRecord("beta", 6)]);
    expect(ids("alpha")).to.deep.equal(["alpha-1", "alpha-3", "alpha-5"]);
    expect(ids("beta")).to.deep.equal(["beta-2", "beta-6"]);
  });

  it("never writes an id its file already holds: an event redelivered under another seq (another outbox) is passed by", async () => {
    const sink = await bench.start(0);
    await sink.store([eventRecord("alpha", 1), eventRecord("alpha", 2)]);
    bench.commit(2);
    const again = await bench.start(2); // a fresh process reads the ids from the file
    const replayed = { ...eventRecord("alpha", 1), seq: 7, outbox: "00000000-0000-4000-8000-000000000000" };
    await again.store([replayed, eventRecord("alpha", 8), eventRecord("alpha", 8)]);
    expect(ids("alpha")).to.deep.equal(["alpha-1", "alpha-2", "alpha-8"]);
  });

  it("cuts a torn last line (no newline) before appending", async () => {
    const sink = await bench.start(0);
    await sink.store([eventRecord("alpha", 1)]);
    bench.commit(1);
    appendFileSync(join(bench.dir, "alpha.jsonl"), '{"id":"torn","ty');
    const after = await bench.start(1);
    await after.store([eventRecord("alpha", 2)]);
    expect(ids("alpha")).to.deep.equal(["alpha-1", "alpha-2"]);
  });

  it("fails a record whose body is no event permanently, after storing the records before it", async () => {
    const sink = await bench.start(0);
    const records = [eventRecord("alpha", 1), sinkRecord("alpha", 2), { ...eventRecord("alpha", 3), body: Buffer.from("not json") }, eventRecord("alpha", 4)];
    const err = await expectSinkError(sink.store(records));
    expect(err.transient).to.equal(false);
    expect(err.stored, "stored (the message passed by counts)").to.equal(2);
    expect(err.message).to.include("not JSON");
    expect(ids("alpha")).to.deep.equal(["alpha-1"]);
  });

  it("counts an unsafe list among the records given, messages passed by included", async () => {
    const sink = await bench.start(0);
    const err = await expectSinkError(sink.store([sinkRecord("alpha", 1), eventRecord("alpha", 2), sinkRecord("beta", 3), eventRecord("../x", 4)]));
    expect(err.stored).to.equal(3);
    expect(ids("alpha")).to.deep.equal(["alpha-2"]);
  });

  it("names the file of a list too long for <list>.jsonl with a hash, as mbox does", () => {
    expect(eventsFileName("dev@lists.example.org")).to.equal("dev@lists.example.org.jsonl");
    const long = eventsFileName(`b${"x".repeat(254)}`);
    expect(long.length).to.equal(255);
    expect(long).to.match(/^bx+~[0-9a-f]{32}\.jsonl$/);
    expect(eventsFileName(`b${"x".repeat(253)}y`)).to.not.equal(long);
  });

  it("is what parseSink makes of events:DIR", () => {
    const sink = parseSink("events:/srv/events");
    expect(sink).to.be.instanceOf(EventsSink);
    expect(sink.name).to.equal("events:/srv/events");
  });
});

describe("message sinks pass events by", () => {
  for (const kind of ["maildir", "mbox"]) {
    it(`${kind}: stores the messages only and counts the events as stored`, async () => {
      const dir = join(tempDir("mqa-pass-"), kind);
      const bench = new SinkBench(() => parseSink(`${kind}:${dir}`));
      try {
        const sink = await bench.start(0);
        await sink.store([eventRecord("alpha", 1), sinkRecord("alpha", 2), eventRecord("alpha", 3)]);
        const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
        expect(files).to.have.length(1);
        const stored = readFileSync(join(files[0]!.parentPath, files[0]!.name), "latin1");
        expect(stored).to.include(sinkRecord("alpha", 2).messageId);
        expect(stored).to.not.include("member-subscribed");
        await sink.store([eventRecord("beta", 4)]);
        expect(readdirSync(dir), "no file or folder for a list with only events").to.not.include("beta");
      } finally {
        await bench.close();
      }
    });
  }
});

describe("EventsSink killed with SIGKILL while storing", () => {
  const WRITER = fileURLToPath(new URL("./fixtures/events-crash-writer.ts", import.meta.url));
  const runAndKill = killableWriter(WRITER);

  it("never leaves a torn line or a duplicate, and loses nothing committed", async () => {
    const base = tempDir("mqa-events-crash-");
    const dir = join(base, "events");
    const statePath = join(base, "state.db");
    let lastPosition = 0;
    for (let round = 1; round <= 6; round++) {
      await runAndKill(dir, statePath, randomInt(1, 6));
      const state = SubscriberState.open(statePath);
      const sink = new EventsSink(dir);
      try {
        await sink.start({ journal: state.journal(sink.name), committed: state.position, position: () => state.position, commits: () => state.commits, outbox: OUTBOX, log: silentLogger(), problem: () => {} });
        const position = state.position;
        expect(position, `round ${round}: progress`).to.be.greaterThan(lastPosition);
        lastPosition = position;
        const committed: SinkRecord[] = Array.from({ length: position }, (_, i) => crashEventRecord(i + 1));
        for (const list of CRASH_LISTS) {
          const expected = committed.filter((r) => r.list === list && r.kind === "event").map((r) => sha256(r.body));
          expect((await readEvents(dir, list)).map(sha256), `round ${round}, ${list}`).to.deep.equal(expected);
        }
      } finally {
        await sink.close();
        state.close();
      }
    }
  });
});
