// Bulk import into a real outbox file: counts, rejects, duplicates, batching.

import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidMessageError } from "../../lib/errors.js";
import { bulkImport, type ImportProgress, type ImportSource } from "../../lib/ingest/bulk-import.js";
import { readMbox } from "../../lib/ingest/mbox-reader.js";
import { quoteMboxrd } from "../../lib/message/mboxrd.js";
import { Outbox } from "../../lib/store/outbox.js";
import { derivedMessageId } from "../../lib/message/rfc5322.js";
import { makeMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";

const opened: Outbox[] = [];

function newOutbox(): Outbox {
  const outbox = Outbox.open(join(tempDir(), "outbox.db"));
  opened.push(outbox);
  return outbox;
}

async function* from(bodies: readonly Buffer[]): AsyncGenerator<ImportSource> {
  let i = 0;
  for (const body of bodies) yield { where: `message ${++i}`, body };
}

const everything = (outbox: Outbox) => outbox.records.readAfter(0, { limit: 1e6, maxBytes: Number.MAX_SAFE_INTEGER });

describe("bulkImport", () => {
  afterEach(() => {
    for (const o of opened.splice(0)) o.close();
  });

  it("imports every message in order, bytes unchanged", async () => {
    const outbox = newOutbox();
    const messages = Array.from({ length: 25 }, (_, i) => makeMessage("dev", i, 500 + i * 100));
    const progress = await bulkImport(outbox.records, from(messages.map((m) => m.body)), { list: "dev", maxSize: 1 << 20 });
    const bytes = messages.reduce((n, m) => n + m.body.length, 0);
    expect(progress).to.deep.equal({ imported: 25, duplicates: 0, rejected: 0, bytes });
    const records = everything(outbox);
    expect(records.map((r) => r.messageId)).to.deep.equal(messages.map((m) => m.messageId));
    records.forEach((r, i) => expect(r.body.equals(messages[i]!.body)).to.equal(true));
    expect(new Set(records.map((r) => r.list))).to.deep.equal(new Set(["dev"]));
  });

  it("counts duplicates within one import and against what is already there", async () => {
    const outbox = newOutbox();
    const [a, b, c] = [0, 1, 2].map((i) => makeMessage("dev", i).body) as [Buffer, Buffer, Buffer];
    outbox.records.append({ list: "dev", messageId: makeMessage("dev", 0).messageId, body: a });
    const progress = await bulkImport(outbox.records, from([a, b, b, c, a]), { list: "dev", maxSize: 1 << 20 });
    expect(progress).to.include({ imported: 2, duplicates: 3, rejected: 0 });
    expect(outbox.records.head()).to.equal(3);
  });

  it("rejects bad messages through onReject and keeps every good one", async () => {
    const outbox = newOutbox();
    const good = [makeMessage("dev", 1).body, makeMessage("dev", 2).body];
    const big = makeMessage("dev", 3, 5000).body;
    const rejects: Array<[string, string]> = [];
    const progress = await bulkImport(
      outbox.records,
      from([Buffer.alloc(0), good[0]!, Buffer.from("no header block here\n\n"), big, good[1]!]),
      { list: "dev", maxSize: 4096, onReject: (where, reason) => rejects.push([where, reason]) },
    );
    expect(progress).to.include({ imported: 2, duplicates: 0, rejected: 3 });
    expect(rejects.map(([where]) => where)).to.deep.equal(["message 1", "message 3", "message 4"]);
    expect(rejects[2]![1]).to.contain("4096");
    expect(everything(outbox).map((r) => r.body.equals(good[r.seq - 1]!))).to.deep.equal([true, true]);
  });

  // Regression test (issue 12, finding 4): bulk import kept a Message-ID with a NUL in it, as publish did.
  it("gives a message whose Message-ID holds control characters a derived id, as publish does, bytes unchanged", async () => {
    const outbox = newOutbox();
    const nul = Buffer.from("Message-ID: <nul\x00id@x>\nSubject: a\n\nbody\n", "latin1");
    const esc = Buffer.from("Message-ID: <esc\x1b[2J@x>\nSubject: b\n\nbody\n", "latin1");
    const good = makeMessage("dev", 1);
    const progress = await bulkImport(outbox.records, from([nul, esc, good.body]), { list: "dev", maxSize: 1 << 20 });
    expect(progress).to.include({ imported: 3, rejected: 0 });
    const records = everything(outbox);
    expect(records.map((r) => r.messageId)).to.deep.equal([derivedMessageId(nul), derivedMessageId(esc), good.messageId]);
    expect(records.map((r) => r.body)).to.deep.equal([nul, esc, good.body]);
  });

  it("commits in batches and reports progress after each", async () => {
    const outbox = newOutbox();
    const bodies = Array.from({ length: 10 }, (_, i) => makeMessage("dev", i, 1000).body);
    const seen: ImportProgress[] = [];
    const heads: number[] = [];
    await bulkImport(outbox.records, from(bodies), {
      list: "dev",
      maxSize: 1 << 20,
      batchMessages: 4,
      onProgress: (p) => {
        seen.push(p);
        heads.push(outbox.records.head());
      },
    });
    expect(seen.map((p) => p.imported)).to.deep.equal([4, 8, 10]);
    expect(heads).to.deep.equal([4, 8, 10]);
    const byBytes: number[] = [];
    await bulkImport(newOutbox().records, from(bodies), {
      list: "dev",
      maxSize: 1 << 20,
      batchBytes: 2500,
      onProgress: (p) => byBytes.push(p.imported),
    });
    expect(byBytes).to.deep.equal([3, 6, 9, 10]);
  });

  it("refuses an invalid list name before importing anything", async () => {
    const outbox = newOutbox();
    let thrown: unknown;
    try {
      await bulkImport(outbox.records, from([makeMessage("x", 1).body]), { list: "../etc", maxSize: 1 << 20 });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).to.be.instanceOf(InvalidMessageError);
    expect((thrown as InvalidMessageError).code).to.equal("BAD_LIST");
    expect(outbox.records.head()).to.equal(0);
  });

  it("imports an mbox file end to end", async () => {
    const outbox = newOutbox();
    const messages = Array.from({ length: 5 }, (_, i) => makeMessage("users", i, 700));
    const path = join(tempDir(), "import.mbox");
    writeFileSync(path, Buffer.concat(messages.flatMap((m) => [Buffer.from("From x Mon Nov 30 12:00:00 2026\n"), quoteMboxrd(m.body), Buffer.from("\n")])));
    async function* source(): AsyncGenerator<ImportSource> {
      for await (const m of readMbox(path)) yield { where: `message ${m.index}`, body: m.body };
    }
    const progress = await bulkImport(outbox.records, source(), { list: "users", maxSize: 1 << 20 });
    expect(progress.imported).to.equal(5);
    expect(everything(outbox).map((r) => r.body.equals(messages[r.seq - 1]!.body))).to.deep.equal([true, true, true, true, true]);
  });
});
