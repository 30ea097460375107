// The contract every sink keeps (lib/sinks/sink.ts), as one suite each sink
// spec runs against its implementation: byte-identical storage in per-list
// order, no second entry for a redelivered record, a permanent failure for
// a list name that cannot be a file name, and a clean restart.

import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SinkError } from "../../lib/errors.js";
import { silentLogger } from "../../lib/log.js";
import type { Sink, SinkRecord } from "../../lib/sinks/sink.js";
import { SubscriberState } from "../../lib/store/state.js";
import { sha256 } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";
import { OUTBOX, sinkRecord } from "./records.js";

export type MakeSink = (dir: string) => Sink;
/** Record `seq` of `list`, about `size` bytes: a message (sinkRecord) or, for the events sink, an event. */
export type MakeRecord = (list: string, seq: number, size?: number) => SinkRecord;
export type ReadBack = (dir: string, list: string) => Promise<Buffer[]>;

export interface ContractOptions {
  /**
   * Properties this sink is known to break. Each is registered with it.skip,
   * and the text says what is wrong (the caller marks it `// BUG:`).
   */
  knownBugs?: { unsafeList?: string };
  /** The records the sink stores (default: messages). */
  record?: MakeRecord;
  /** Three list names (default alpha, beta, gamma); HyperKitty's take full addresses. */
  lists?: readonly [string, string, string];
}

/** A sink's working directory, its state database, and every sink instance started over them. */
export class SinkBench {
  readonly base = tempDir("mqa-sink-");
  /** The sink's directory; it does not exist before the first start(). */
  readonly dir = join(this.base, "archive");
  readonly state = SubscriberState.open(join(this.base, "state.db"));
  private readonly sinks: Sink[] = [];
  /** What the sinks reported through SinkContext.problem, in order. */
  readonly problems: Array<string | null> = [];

  constructor(private readonly makeSink: MakeSink) {}

  /** A fresh sink instance over the same directory and journal, started as a subscriber would. */
  async start(committed: number, outbox: string | null = OUTBOX): Promise<Sink> {
    const sink = this.makeSink(this.dir);
    this.sinks.push(sink);
    await sink.start({ journal: this.state.journal(sink.name), committed, position: () => this.state.position, commits: () => this.state.commits, outbox, log: silentLogger(), problem: (text) => this.problems.push(text) });
    return sink;
  }

  /** What the deliverer does once every sink stored a batch: commit the position. */
  commit(position: number): void {
    this.state.commit({ position, archived: [], deadLetters: [] });
  }

  async close(): Promise<void> {
    for (const sink of this.sinks.splice(0)) await sink.close();
    this.state.close();
  }
}

/** Records `from`..`to` spread round-robin over `lists`, of varied sizes. */
export function batch(from: number, to: number, lists: readonly string[] = ["alpha", "beta", "gamma"], record: MakeRecord = sinkRecord): SinkRecord[] {
  const out: SinkRecord[] = [];
  for (let seq = from; seq <= to; seq++) out.push(record(lists[seq % lists.length]!, seq, 300 + ((seq * 997) % 9000)));
  return out;
}

/** sha256 of each record of `list`, in seq order: what readBack must give. */
export function expectedHashes(records: readonly SinkRecord[], list: string): string[] {
  return records.filter((r) => r.list === list).sort((a, b) => a.seq - b.seq).map((r) => sha256(r.body));
}

export async function hashesOf(readBack: ReadBack, dir: string, list: string): Promise<string[]> {
  return (await readBack(dir, list)).map(sha256);
}

/** ReadBack for sinks whose command or handler writes DIR/<list>.<seq>. */
export async function readSeqFiles(dir: string, list: string): Promise<Buffer[]> {
  if (!existsSync(dir)) return [];
  const pattern = new RegExp(`^${list.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)$`);
  return readdirSync(dir)
    .map((name) => ({ name, seq: Number(pattern.exec(name)?.[1] ?? NaN) }))
    .filter((f) => !Number.isNaN(f.seq))
    .sort((a, b) => a.seq - b.seq)
    .map((f) => readFileSync(join(dir, f.name)));
}

export async function expectSinkError(promise: Promise<unknown>): Promise<SinkError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(SinkError);
    return err as SinkError;
  }
  expect.fail("store() resolved, but a SinkError was expected");
}

const batchOf = batch;

export function sinkContract(name: string, makeSink: MakeSink, readBack: ReadBack, options: ContractOptions = {}): void {
  describe(`${name}: the sink contract`, () => {
    let bench: SinkBench;
    beforeEach(() => {
      bench = new SinkBench(makeSink);
    });
    afterEach(async () => {
      await bench.close();
    });

    const lists = options.lists ?? ["alpha", "beta", "gamma"];
    const [alpha, beta] = lists;
    const record = options.record ?? sinkRecord;
    const batch = (from: number, to: number): SinkRecord[] => batchOf(from, to, lists, record);

    it("stores batches over three lists byte for byte, in per-list order", async () => {
      const sink = await bench.start(0);
      const first = batch(1, 12);
      const second = batch(13, 17);
      await sink.store(first);
      await sink.store(second);
      for (const list of lists) {
        expect(await hashesOf(readBack, bench.dir, list), list).to.deep.equal(expectedHashes([...first, ...second], list));
      }
    });

    it("stores nothing for an empty batch", async () => {
      const sink = await bench.start(0);
      await sink.store([]);
      for (const list of lists) expect(await readBack(bench.dir, list)).to.deep.equal([]);
    });

    it("creates no second entry for records redelivered after a restart before their commit", async () => {
      const committed = batch(1, 6);
      const uncommitted = batch(7, 12);
      const before = await bench.start(0);
      await before.store(committed);
      bench.commit(6);
      await before.store(uncommitted);
      // A crash here: position 6 was committed, 7..12 were stored but not committed, so they come again.
      const after = await bench.start(6);
      await after.store(uncommitted);
      await after.store(batch(13, 15));
      const all = [...committed, ...uncommitted, ...batch(13, 15)];
      for (const list of lists) {
        expect(await hashesOf(readBack, bench.dir, list), list).to.deep.equal(expectedHashes(all, list));
      }
    });

    (options.knownBugs?.unsafeList ? it.skip : it)(
      "fails a record whose list name is unsafe as a file name permanently, after storing those before it",
      async () => {
        const sink = await bench.start(0);
        const records = [record(alpha, 1), record(beta, 2), record("../escaped", 3), record(alpha, 4)];
        const err = await expectSinkError(sink.store(records));
        expect(err.transient, "transient").to.equal(false);
        expect(err.code).to.equal("SINK_PERMANENT");
        expect(err.stored, "stored").to.equal(2);
        expect((await hashesOf(readBack, bench.dir, alpha))[0]).to.equal(sha256(records[0]!.body));
        expect(await hashesOf(readBack, bench.dir, beta)).to.deep.equal([sha256(records[1]!.body)]);
        expect(readdirSync(bench.base).filter((n) => n.includes("escaped")), "written outside the sink's directory").to.deep.equal([]);
      },
    );

    it("starts again over the same directory and goes on where it was (restart)", async () => {
      const first = batch(1, 5);
      const second = batch(6, 10);
      const a = await bench.start(0);
      await a.store(first);
      bench.commit(5);
      await a.close();
      const b = await bench.start(5);
      await b.store(second);
      bench.commit(10);
      await b.close();
      await bench.start(10); // a start with nothing to repair changes nothing
      for (const list of lists) {
        expect(await hashesOf(readBack, bench.dir, list), list).to.deep.equal(expectedHashes([...first, ...second], list));
      }
    });
  });
}
