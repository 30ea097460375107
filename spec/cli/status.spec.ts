// `mq-archive status` against outbox files written with the project's Outbox
// class. Runs the built CLI: `npm run build` first.

import { expect } from "chai";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { OutboxStatus } from "../../lib/status/outbox.js";
import { spawn } from "node:child_process";
import { BIN, runCli } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait.js";
import { makeMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";
import { withOutbox } from "./outbox-util.js";

describe("mq-archive status", () => {
  let dir: string;
  let db: string;
  let outboxId: string;
  beforeEach(() => {
    dir = tempDir("mqa-cli-");
    db = join(dir, "outbox.db");
  });

  /** Three records (dev, dev, announce) and a peer that receives dev and has acked seq 1. */
  function seed(): void {
    outboxId = withOutbox(db, (o) => {
      for (const [list, i] of [["dev", 1], ["dev", 2], ["announce", 3]] as const) {
        const m = makeMessage(list, i, 2048);
        o.records.append({ list, messageId: m.messageId, body: m.body });
      }
      o.peers.write([{ id: "peer-key-1", name: "archive-1", lists: ["dev"], acked: 1, at: Date.now() }], []);
      return o.id;
    });
  }

  it("prints the outbox's head, record count and each peer", async () => {
    seed();
    const result = await runCli(["status", "--db", db]);
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.include(db).and.to.include(outboxId);
    expect(result.stdout).to.match(/head seq 3\b/).and.to.match(/\b3 records retained\b/);
    const peerLine = result.stdout.split("\n").find((l) => l.startsWith("archive-1"));
    expect(peerLine, result.stdout).to.match(/^archive-1 \(peer-key-1\)\s+dev\s+1\s+1\s/);
  });

  it("says so when the outbox is empty and no peer has connected", async () => {
    withOutbox(db, () => {});
    const result = await runCli(["status", "--db", db]);
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/head seq 0\b/).and.to.include("no peers have connected yet");
  });

  it("prints JSON with --json: outbox.head and peers[] with position and lag", async () => {
    seed();
    const result = await runCli(["status", "--db", db, "--json"]);
    expect(result.status, result.stderr).to.equal(0);
    const status = JSON.parse(result.stdout) as OutboxStatus;
    expect(status.outbox).to.include({ id: outboxId, head: 3, first: 1, records: 3 });
    expect(status.peers).to.be.an("array").with.length(1);
    expect(status.peers[0]).to.include({ id: "peer-key-1", name: "archive-1", acked: 1 });
    expect(status.peers[0]!.lists).to.deep.equal(["dev"]);
    expect(status.peers[0]!.lag.records, "only dev seq 2 is missing").to.equal(1);
  });

  it("takes --db from MQ_ARCHIVE_DB", async () => {
    seed();
    const result = await runCli(["status", "--json"], { env: { MQ_ARCHIVE_DB: db } });
    expect(result.status, result.stderr).to.equal(0);
    expect((JSON.parse(result.stdout) as OutboxStatus).outbox.head).to.equal(3);
  });

  it("fails with a message naming a missing outbox, and does not create it", async () => {
    const result = await runCli(["status", "--db", db]);
    expect(result.status).to.be.a("number").and.not.equal(0);
    expect(result.stdout).to.equal("");
    expect(result.stderr).to.match(/^mq-archive: /).and.to.include(db);
    expect(existsSync(db)).to.equal(false);
  });

  it("fails with a clear message for a file that is not an outbox", async () => {
    writeFileSync(db, "this is not a database, just some text that is long enough to have a header\n".repeat(20));
    const result = await runCli(["status", "--db", db]);
    expect(result.status).to.be.a("number").and.not.equal(0);
    expect(result.stderr).to.include(db).and.to.match(/not a database/);
  });

  it("exits 64 without --db", async () => {
    const result = await runCli(["status"], { env: { MQ_ARCHIVE_DB: "", MQ_ARCHIVE_CONFIG: "" } });
    expect(result.status).to.equal(64);
    expect(result.stderr).to.include("--db");
  });

  it("--watch redraws the table every second, showing new records, until Ctrl-C", async () => {
    seed();
    const child = spawn(process.execPath, [BIN, "status", "--db", db, "--watch"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes("head seq 3"), { what: "a first frame" });
    withOutbox(db, (o) => {
      const m = makeMessage("dev", 4, 2048);
      o.records.append({ list: "dev", messageId: m.messageId, body: m.body });
    });
    await waitFor(() => out.includes("head seq 4"), { what: "a frame with the new record" });
    child.kill("SIGINT");
    const code = await new Promise((resolve) => child.on("exit", resolve));
    expect(code).to.equal(0);
    expect(out.split("\x1b[H\x1b[2J").length, "frames, each after a clear").to.be.at.least(3);
  });

  it("--watch does not go with --json", async () => {
    seed();
    const result = await runCli(["status", "--db", db, "--watch", "--json"]);
    expect(result.status).to.equal(64);
    expect(result.stderr).to.contain("--watch is for a terminal");
  });
});
