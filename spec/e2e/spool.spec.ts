// Issue 14, "Never lose a post": what the Mailman plugin spools when it
// cannot commit reaches the archives through `serve --spool`. Real serve
// and subscribe processes, a real spool directory, and another process
// holding the outbox's write lock.

import { expect } from "chai";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { outboxRecords } from "../cli/outbox-util.js";
import { runCli } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive, type TestMessage } from "../helpers/messages.js";
import { holdWriteLock } from "../helpers/outbox-lock.js";
import { waitFor } from "../helpers/wait.js";
import { spoolName, deliverToSpool } from "../helpers/spool.js";

describe("e2e: the spool (serve --spool)", function () {
  this.timeout(120_000);

  const deliver = deliverToSpool;
  const waiting = (spool: string, list: string): string[] => readdirSync(join(spool, "lists", list, "new"));

  it("imports what waits at start and what arrives later; a subscriber archives it all; a too-large one is kept in rejected/ and counted", async () => {
    const mesh = await Mesh.create();
    const spool = mesh.path("spool");
    const early = [makeMessage("dev", 1), makeMessage("dev", 2), makeMessage("users@lists.example.org", 1)];
    early.forEach((m) => deliver(spool, m));
    const big = deliver(spool, makeMessage("dev", 99, 20_000));
    mkdirSync(join(spool, "events", "new"), { recursive: true });
    const event = { id: "e-1", type: "member-subscribed", list: "dev", address: "ann@example.org", at: "2026-12-05T10:00:00Z" };
    writeFileSync(join(spool, "events", "new", spoolName()), JSON.stringify(event));

    const serve = await mesh.serve(["--spool", spool, "--max-size", "16KB"]);
    mesh.subscribe("a.db", [`maildir:${mesh.path("maildir")}`], ["--name", "a"]);
    const drained = await serve.waitForLog("spool drained");
    expect(drained).to.include({ imported: 4, rejected: 1, left: 0 });
    expect(serve.logs.find((l) => l.msg === "spool: message refused for good, kept in rejected/")).to.include({ level: 50, code: "TOO_LARGE" });

    const late = makeMessage("dev", 3);
    const latePath = deliver(spool, late);
    await waitFor(() => !existsSync(latePath), { timeoutMs: 15_000, what: "the file delivered later to be imported" });
    await mesh.waitAcked(["a"], 5);
    expect(outboxRecords(mesh.db).filter((r) => r.kind === "event").map((r) => r.messageId)).to.deep.equal(["event:e-1"]);

    for (const list of ["dev", "users@lists.example.org"]) {
      const expected = [...early, late].filter((m) => m.list === list);
      const got = compareArchive(expected, readMaildirArchive(mesh.path("maildir"), list).map((f) => f.body));
      expect(got, list).to.deep.equal({ missing: [], duplicated: [], unexpected: 0, outOfOrder: false });
    }
    expect(waiting(spool, "dev")).to.deep.equal([]);
    const kept = join(spool, "rejected", "lists", "dev", big.split("/").pop()!);
    expect(readFileSync(`${kept}.reason`, "utf8")).to.match(/^TOO_LARGE: the message is \d+ bytes, over the limit of 16000 bytes/);

    const status = await runCli(["status", "--db", mesh.db, "--spool", spool]);
    expect(status.status, status.stderr).to.equal(0);
    expect(status.stdout).to.match(/waiting: 0 messages/).and.to.match(/rejected: 1 /);
  });

  it("keeps the files while another process holds the outbox's write lock, and imports them once it is released", async () => {
    const mesh = await Mesh.create();
    const spool = mesh.path("spool");
    mesh.publish([makeMessage("dev", 0)]); // the outbox exists before the lock is taken
    const serve = await mesh.serve(["--spool", spool]);
    mesh.subscribe("a.db", [`maildir:${mesh.path("maildir")}`], ["--name", "a"]);
    await mesh.waitAcked(["a"], 1);

    const lock = await holdWriteLock(mesh.db);
    const messages = [makeMessage("dev", 1), makeMessage("dev", 2)];
    const paths = messages.map((m) => deliver(spool, m));
    await serve.waitForLog((l) => typeof l.msg === "string" && l.msg.startsWith("spool: the outbox cannot take spooled messages now"));
    expect(paths.every((p) => existsSync(p)), "the files stay while the outbox is locked").to.equal(true);
    expect(mesh.head()).to.equal(1);
    const status = await runCli(["status", "--spool", spool, "--json"]);
    expect((JSON.parse(status.stdout) as { spool: { waiting: { files: number } } }).spool.waiting.files).to.equal(2);

    await lock.release();
    await serve.waitForLog("spool: the outbox takes messages again", 40_000);
    await serve.waitForLog("spool drained");
    expect(paths.some((p) => existsSync(p))).to.equal(false);
    await mesh.waitAcked(["a"], 3);
    const got = compareArchive([makeMessage("dev", 0), ...messages], readMaildirArchive(mesh.path("maildir"), "dev").map((f) => f.body));
    expect(got).to.deep.equal({ missing: [], duplicated: [], unexpected: 0, outOfOrder: false });
    expect(serve.alive).to.equal(true);
  });
});
