// serve's spool drain in-process, against a real spool directory and a
// real outbox file: what waits at start goes in, a file delivered later is
// noticed by the watch (the poll is set to a minute), a locked outbox leaves
// the files in place until it frees, a bad file is set aside, and the log
// says once when draining starts and once when it is done.

import Database from "better-sqlite3";
import { expect } from "chai";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { SpoolDrain } from "../../lib/publisher/spool-drain.js";
import { Outbox } from "../../lib/store/outbox.js";
import { outboxRecords } from "../cli/outbox-util.js";
import { makeMessage, type TestMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { deliverToSpool } from "../helpers/spool.js";

type Line = { msg: string; level: number } & Record<string, unknown>;

describe("spool drain (serve's part)", function () {
  this.timeout(30_000);
  let dir: string;
  let spool: string;
  let db: string;
  let lines: Line[];
  let drain: SpoolDrain | null;
  beforeEach(() => {
    dir = tempDir("mqa-drain-");
    spool = join(dir, "spool");
    db = join(dir, "outbox.db");
    Outbox.open(db).close();
    lines = [];
    drain = null;
  });
  afterEach(async () => {
    await drain?.close();
  });

  const start = async (pollMs = 60_000): Promise<SpoolDrain> => {
    const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
    drain = new SpoolDrain({ dir: spool, maxSize: 64 * 1024, pollMs, retryMaxMs: 400 }, db, log);
    await drain.start();
    return drain;
  };
  const deliver = (m: { list: string; body: Buffer }): string => deliverToSpool(spool, m);
  const ids = () => outboxRecords(db).map((r) => r.messageId);
  const logged = (msg: string) => lines.filter((l) => l.msg === msg);

  it("imports what waits at start, then a file delivered later through the watch, logging start and end of each drain once", async () => {
    const first = [makeMessage("dev", 1), makeMessage("dev", 2), makeMessage("users", 1)];
    first.forEach(deliver);
    await start();
    await waitFor(() => logged("spool drained").length === 1, { what: "the first drain" });
    expect(ids()).to.have.members(first.map((m) => m.messageId));
    expect(logged("spool: importing waiting messages")).to.have.length(1);
    expect(logged("spool drained")[0]).to.include({ imported: 3, duplicates: 0, rejected: 0, left: 0 });

    const later = makeMessage("dev", 3);
    const path = deliver(later);
    await waitFor(() => !existsSync(path), { timeoutMs: 10_000, what: "the later file to be imported (watch, not the 60 s poll)" });
    expect(ids()).to.include(later.messageId);
    await waitFor(() => logged("spool drained").length === 2, { what: "the second drain's line" });
    expect(logged("spool: importing waiting messages")).to.have.length(2);
  });

  it("leaves the files while another process holds the outbox's write lock, and imports them once it is released", async () => {
    const locker = new Database(db);
    locker.exec("BEGIN IMMEDIATE");
    try {
      const messages = [makeMessage("dev", 1), makeMessage("dev", 2)];
      const paths = messages.map(deliver);
      await start(100);
      await waitFor(() => lines.some((l) => l.msg.startsWith("spool: the outbox cannot take spooled messages now")), {
        what: "the warning that the outbox is busy",
      });
      expect(paths.every((p) => existsSync(p))).to.equal(true);
      expect(logged("spool drained")).to.have.length(0);
      locker.exec("ROLLBACK");
      await waitFor(() => logged("spool drained").length === 1, { what: "the drain after the lock went" });
      expect(ids()).to.have.members(messages.map((m) => m.messageId));
      expect(paths.some((p) => existsSync(p))).to.equal(false);
      expect(logged("spool: the outbox takes messages again")).to.have.length(1);
    } finally {
      if (locker.inTransaction) locker.exec("ROLLBACK");
      locker.close();
    }
  });

  it("sets a message refused for good aside, logged at error, and goes on", async () => {
    const big = makeMessage("dev", 1, 64 * 1024 + 1);
    const fine = makeMessage("dev", 2);
    deliver(big);
    deliver(fine);
    await start();
    await waitFor(() => logged("spool drained").length === 1, { what: "the drain" });
    expect(ids()).to.deep.equal([fine.messageId]);
    const refused = lines.find((l) => l.msg === "spool: message refused for good, kept in rejected/");
    expect(refused).to.include({ level: 50, code: "TOO_LARGE", list: "dev" });
    expect(readdirSync(join(spool, "rejected", "lists", "dev"))).to.have.length(2);
    expect(logged("spool drained")[0]).to.include({ imported: 1, rejected: 1 });
  });

  it("refuses to start on a spool it cannot create", async () => {
    writeFileSync(join(dir, "file"), "");
    spool = join(dir, "file", "spool");
    let error: unknown;
    await start().catch((err: unknown) => (error = err));
    expect(error).to.have.property("code", "CONFIG");
  });
});
