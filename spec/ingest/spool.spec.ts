// The spool's import (lib/ingest/spool.ts) against real files and a real
// outbox: what waits in new/ goes in, oldest first, deduplicated as publish
// does; a refused file is kept in rejected/ with its reason; tmp/ is never
// read; nothing is unlinked before its commit.

import { expect } from "chai";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, chmodSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OutboxError } from "../../lib/errors.js";
import {
  compareSpoolNames,
  importSpool,
  prepareSpool,
  scanSpool,
  spoolModes,
  type SpoolRejection,
} from "../../lib/ingest/spool.js";
import { readSpoolStatus } from "../../lib/status/spool.js";
import { Outbox } from "../../lib/store/outbox.js";
import type { NewRecord } from "../../lib/store/record-log.js";
import { outboxRecords } from "../cli/outbox-util.js";
import { makeMessage, sha256, type TestMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";

const MAX = 64 * 1024;

describe("spool import", () => {
  let dir: string;
  let spool: string;
  let db: string;
  let outbox: Outbox;
  beforeEach(() => {
    dir = tempDir("mqa-spool-");
    spool = join(dir, "spool");
    db = join(dir, "outbox.db");
    outbox = Outbox.open(db);
  });
  afterEach(async () => {
    await outbox.close();
  });

  /** A message delivered into lists/<list>/<sub>/<name> as a plugin would. */
  const put = (list: string, name: string, body: Buffer | string, sub = "new"): string => {
    const d = join(spool, "lists", list, sub);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, name), body);
    return join(d, name);
  };
  const drain = async (maxSize = MAX, rejections: SpoolRejection[] = []) => {
    const modes = await prepareSpool(spool);
    const { files } = await scanSpool(spool);
    return importSpool(outbox.records, spool, files, { maxSize, modes, onReject: (r) => rejections.push(r) });
  };
  const waiting = (list: string): string[] => readdirSync(join(spool, "lists", list, "new"));

  it("imports every list's waiting messages, oldest name first, byte for byte, and removes them", async () => {
    const dev = [makeMessage("dev", 1), makeMessage("dev", 2), makeMessage("dev", 3)];
    const users = makeMessage("users@lists.example.org", 1);
    // Written out of order; 999... sorts before 1000... by its number.
    put("dev", "1000000000002.77_1.host", dev[2]!.body);
    put("dev", "999999999999.77_1.host", dev[0]!.body);
    put("dev", "1000000000001.77_1.host", dev[1]!.body);
    put(users.list, "1000000000000.78_1.host", users.body);

    const summary = await drain();

    expect(summary).to.deep.include({ imported: 4, duplicates: 0, rejected: 0, stuck: 0 });
    const records = outboxRecords(db);
    const devRecords = records.filter((r) => r.list === "dev");
    expect(devRecords.map((r) => r.messageId)).to.deep.equal(dev.map((m) => m.messageId));
    expect(devRecords.map((r) => sha256(r.body))).to.deep.equal(dev.map((m) => sha256(m.body)));
    expect(records.find((r) => r.list === users.list)?.messageId).to.equal(users.messageId);
    expect(waiting("dev")).to.deep.equal([]);
    expect(waiting(users.list)).to.deep.equal([]);
  });

  it("never reads tmp/ (a writer may be mid-write) nor dot files", async () => {
    const done = makeMessage("dev", 1);
    const partial = makeMessage("dev", 2);
    put("dev", "1.1_1.host", done.body);
    put("dev", "2.1_1.host", partial.body.subarray(0, 100), "tmp");
    put("dev", ".hidden", makeMessage("dev", 3).body);

    const summary = await drain();

    expect(summary.imported).to.equal(1);
    expect(outboxRecords(db).map((r) => r.messageId)).to.deep.equal([done.messageId]);
    expect(readdirSync(join(spool, "lists", "dev", "tmp"))).to.deep.equal(["2.1_1.host"]);
    expect(waiting("dev")).to.deep.equal([".hidden"]);
  });

  it("deduplicates as publish does: a Message-ID already in the outbox, or twice in the spool, is one record", async () => {
    const m = makeMessage("dev", 1);
    const seq = outbox.records.append({ list: "dev", messageId: m.messageId, body: m.body }).seq;
    put("dev", "1.1_1.host", m.body); // published, then spooled too (a timeout after the commit)
    const other = makeMessage("dev", 2);
    put("dev", "2.1_1.host", other.body);
    put("dev", "3.1_1.host", other.body);
    put("announce", "4.1_1.host", m.body); // the same Message-ID on another list is another record

    const summary = await drain();

    expect(summary).to.deep.include({ imported: 2, duplicates: 2, rejected: 0 });
    const records = outboxRecords(db);
    expect(records.map((r) => [r.list, r.messageId])).to.deep.equal([
      ["dev", m.messageId],
      ["dev", other.messageId],
      ["announce", m.messageId],
    ]);
    expect(records[0]!.seq).to.equal(seq);
    expect(waiting("dev")).to.deep.equal([]);
  });

  it("keeps a message refused for good in rejected/ with its reason, and imports the rest", async () => {
    const big = makeMessage("dev", 1, MAX + 1);
    const fine = makeMessage("dev", 2);
    put("dev", "1.1_1.host", big.body);
    put("dev", "2.1_1.host", fine.body);
    put("dev", "3.1_1.host", "no header block here\n");
    put("dev", "4.1_1.host", "");
    put("-bad-list", "5.1_1.host", fine.body);
    const rejections: SpoolRejection[] = [];

    const summary = await drain(MAX, rejections);

    expect(summary).to.deep.include({ imported: 1, rejected: 4 });
    expect(outboxRecords(db).map((r) => r.messageId)).to.deep.equal([fine.messageId]);
    expect(waiting("dev")).to.deep.equal([]);
    const kept = (list: string, name: string) => join(spool, "rejected", "lists", list, name);
    expect(sha256(readFileSync(kept("dev", "1.1_1.host")))).to.equal(sha256(big.body));
    expect(readFileSync(`${kept("dev", "1.1_1.host")}.reason`, "utf8")).to.match(/^TOO_LARGE: the message is 65537 bytes, over the limit of 65536 bytes/).and.to.match(/[^\n]\n$/);
    expect(readFileSync(`${kept("dev", "3.1_1.host")}.reason`, "utf8")).to.match(/^NO_HEADERS: /);
    expect(readFileSync(`${kept("dev", "4.1_1.host")}.reason`, "utf8")).to.match(/^EMPTY_MESSAGE: /);
    expect(readFileSync(`${kept("-bad-list", "5.1_1.host")}.reason`, "utf8")).to.match(/^BAD_LIST: /);
    expect(rejections.map((r) => [r.entry.name, r.code])).to.deep.equal([
      ["1.1_1.host", "TOO_LARGE"],
      ["3.1_1.host", "NO_HEADERS"],
      ["4.1_1.host", "EMPTY_MESSAGE"],
      ["5.1_1.host", "BAD_LIST"],
    ]);
    expect((await readSpoolStatus(spool)).rejected).to.equal(4);
  });

  it("imports list events from events/new/ as publish --event does, in spool order with the messages; one without an id or invalid is kept in rejected/events/", async () => {
    const putEvent = (name: string, json: string): string => {
      const d = join(spool, "events", "new");
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, name), json);
      return join(d, name);
    };
    const created = { id: "e1", type: "list-created", list: "dev", at: "2026-12-05T10:00:00.000Z" };
    const joined = { id: "e2", type: "member-subscribed", list: "dev", address: "ann@example.org", at: "2026-12-05T10:01:00.000Z" };
    const post = makeMessage("dev", 1);
    const paths = [
      putEvent("1.1_1.host", JSON.stringify(created)),
      put("dev", "2.1_1.host", post.body),
      putEvent("3.1_1.host", JSON.stringify(joined)),
      putEvent("4.1_1.host", JSON.stringify(joined)), // spooled twice: one record
    ];
    putEvent("5.1_1.host", JSON.stringify({ type: "list-created", list: "dev" }));
    putEvent("6.1_1.host", "{not json");
    const rejections: SpoolRejection[] = [];

    const summary = await drain(MAX, rejections);

    expect(summary).to.deep.include({ imported: 3, duplicates: 1, rejected: 2, stuck: 0 });
    const records = outboxRecords(db);
    expect(records.map((r) => [r.kind, r.list, r.messageId])).to.deep.equal([
      ["event", "dev", "event:e1"],
      ["message", "dev", post.messageId],
      ["event", "dev", "event:e2"],
    ]);
    expect(JSON.parse(records[2]!.body.toString())).to.include({ type: "member-subscribed", address: "ann@example.org" });
    expect(paths.some((p) => existsSync(p))).to.equal(false);
    expect(rejections.map((r) => [r.entry.name, r.code])).to.deep.equal([["5.1_1.host", "BAD_EVENT"], ["6.1_1.host", "BAD_EVENT"]]);
    const kept = join(spool, "rejected", "events", "5.1_1.host");
    expect(readFileSync(`${kept}.reason`, "utf8")).to.match(/^BAD_EVENT: a spooled event needs its "id"/);
    expect((await readSpoolStatus(spool)).rejected).to.equal(2);
  });

  it("unlinks a file only after the commit that holds it, and none when the commit fails", async () => {
    const messages = Array.from({ length: 5 }, (_, i) => makeMessage("dev", i));
    const paths = messages.map((m, i) => put("dev", `${i + 1}.1_1.host`, m.body));
    const modes = await prepareSpool(spool);
    const { files } = await scanSpool(spool);

    const failing = {
      appendMany: (): never => {
        throw new OutboxError("OUTBOX_BUSY", "outbox is locked by another process");
      },
    };
    let error: unknown;
    await importSpool(failing, spool, files, { maxSize: MAX, modes }).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(OutboxError);
    expect(paths.every((p) => existsSync(p)), "every file stays when the commit fails").to.equal(true);

    const commits: Array<{ records: number; stillThere: boolean }> = [];
    let offset = 0;
    const watching = {
      appendMany: (records: readonly NewRecord[]) => {
        const batch = paths.slice(offset, (offset += records.length));
        commits.push({ records: records.length, stillThere: batch.every((p) => existsSync(p)) });
        return outbox.records.appendMany(records);
      },
    };
    const summary = await importSpool(watching, spool, files, { maxSize: MAX, modes, batchFiles: 2 });
    expect(summary.imported).to.equal(5);
    expect(commits).to.deep.equal([
      { records: 2, stillThere: true },
      { records: 2, stillThere: true },
      { records: 1, stillThere: true },
    ]);
    expect(paths.some((p) => existsSync(p))).to.equal(false);
  });

  it("stops between batches when asked to (a daemon closing), leaving the rest waiting", async () => {
    const messages: TestMessage[] = Array.from({ length: 4 }, (_, i) => makeMessage("dev", i));
    messages.forEach((m, i) => put("dev", `${i + 1}.1_1.host`, m.body));
    const modes = await prepareSpool(spool);
    const { files } = await scanSpool(spool);
    const summary = await importSpool(outbox.records, spool, files, { maxSize: MAX, modes, batchFiles: 2, between: async () => false });
    expect(summary.imported).to.equal(2);
    expect(waiting("dev")).to.deep.equal(["3.1_1.host", "4.1_1.host"]);
  });

  it("orders time-prefixed names by their number", () => {
    const names = ["1000.1_1.h", "999.1_1.h", "1000.1_2.h", "10.9_1.h", "x"];
    expect([...names].sort(compareSpoolNames)).to.deep.equal(["x", "10.9_1.h", "999.1_1.h", "1000.1_1.h", "1000.1_2.h"]);
  });

  it("creates its directories owner-only, or open to the spool directory's group, never to others", async () => {
    await prepareSpool(spool);
    expect(statSync(join(spool, "rejected", "lists")).mode & 0o777).to.equal(0o700);
    expect(await spoolModes(spool)).to.deep.equal({ directory: 0o700, file: 0o600 });

    const shared = join(dir, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o2775);
    expect(await spoolModes(shared)).to.deep.equal({ directory: 0o770, file: 0o660 });
    const prev = process.umask(0o007);
    try {
      spool = shared;
      put("dev", "1.1_1.host", "");
      await drain();
    } finally {
      process.umask(prev);
    }
    const kept = join(shared, "rejected", "lists", "dev");
    expect(statSync(kept).mode & 0o777).to.equal(0o770);
    expect(statSync(`${join(kept, "1.1_1.host")}.reason`).mode & 0o777).to.equal(0o660);
  });

  it("status counts what waits (files, bytes, oldest age), what is being written (and stale), events and rejected", async () => {
    const now = Date.now();
    const a = put("dev", "1.1_1.host", "Subject: a\n\nA\n");
    put("users", "2.1_1.host", "Subject: bb\n\nBB\n");
    utimesSync(a, new Date(now - 60_000), new Date(now - 60_000));
    const stale = put("dev", "3.1_1.host", "Subj", "tmp");
    utimesSync(stale, new Date(now - 37 * 3_600_000), new Date(now - 37 * 3_600_000));
    put("dev", "4.1_1.host", "Subj", "tmp");
    await prepareSpool(spool);
    writeFileSync(join(spool, "events", "new", "5.1_1.host"), "{}");
    mkdirSync(join(spool, "rejected", "lists", "dev"), { recursive: true });
    writeFileSync(join(spool, "rejected", "lists", "dev", "6.1_1.host"), "");
    writeFileSync(join(spool, "rejected", "lists", "dev", "6.1_1.host.reason"), "EMPTY_MESSAGE: the message is empty\n");

    const status = await readSpoolStatus(spool, now);

    expect(status).to.deep.equal({
      path: spool,
      exists: true,
      waiting: { files: 2, bytes: 14 + 16, oldestAgeMs: 60_000 },
      writing: { files: 2, stale: 1 },
      events: 1,
      rejected: 1,
    });
    expect((await readSpoolStatus(join(dir, "nowhere"))).exists).to.equal(false);
  });
});
