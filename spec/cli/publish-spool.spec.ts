// `mq-archive publish --spool DIR` (drain the spool once, without serve) and
// `status --spool DIR`, as the built CLI in child processes. Run `npm run
// build` first.

import { expect } from "chai";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { makeMessage, sha256, type TestMessage } from "../helpers/messages.js";
import { holdWriteLock } from "../helpers/outbox-lock.js";
import { tempDir } from "../helpers/tmp.js";
import { outboxRecords, withOutbox } from "./outbox-util.js";
import { deliverToSpool } from "../helpers/spool.js";

const NO_ENV_OPTIONS = { MQ_ARCHIVE_DB: "", MQ_ARCHIVE_LIST: "", MQ_ARCHIVE_CONFIG: "", MQ_ARCHIVE_MAX_SIZE: "", MQ_ARCHIVE_SPOOL: "" };

describe("mq-archive publish --spool / status --spool", function () {
  this.timeout(60_000);
  let dir: string;
  let db: string;
  let spool: string;
  beforeEach(() => {
    dir = tempDir("mqa-cli-spool-");
    db = join(dir, "outbox.db");
    spool = join(dir, "spool");
    mkdirSync(spool);
  });

  const deliver = (m: TestMessage): string => deliverToSpool(spool, m);
  const cli = (args: string[]) => runCli(args, { env: NO_ENV_OPTIONS });

  it("imports every waiting message once, keeps a too-large one in rejected/ with its reason, and exits 0", async () => {
    const messages = [makeMessage("dev", 1), makeMessage("dev", 2), makeMessage("users", 1)];
    const paths = messages.map(deliver);
    const big = deliver(makeMessage("dev", 3, 5000));
    withOutbox(db, (o) => o.records.append({ list: "dev", messageId: messages[0]!.messageId, body: messages[0]!.body }));

    const result = await cli(["publish", "--db", db, "--spool", spool, "--max-size", "4000"]);

    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^imported 2, duplicates 1, rejected 1, left 0 \(/);
    expect(result.stderr).to.include(big).and.to.include("over the limit of 4000");
    const records = outboxRecords(db);
    expect(records.map((r) => r.messageId)).to.have.members(messages.map((m) => m.messageId));
    expect(records.map((r) => sha256(r.body))).to.have.members(messages.map((m) => sha256(m.body)));
    expect([...paths, big].some((p) => existsSync(p))).to.equal(false);
    const kept = join(spool, "rejected", "lists", "dev", big.split("/").pop()!);
    expect(readFileSync(`${kept}.reason`, "utf8")).to.match(/^TOO_LARGE: /);

    const status = await cli(["status", "--db", db, "--spool", spool, "--json"]);
    expect(status.status, status.stderr).to.equal(0);
    const parsed = JSON.parse(status.stdout) as { outbox: { head: number }; spool: Record<string, unknown> };
    expect(parsed.outbox.head).to.equal(3);
    expect(parsed.spool).to.deep.include({ exists: true, rejected: 1, events: 0 });
    expect(parsed.spool.waiting).to.deep.equal({ files: 0, bytes: 0, oldestAgeMs: null });

    const again = await cli(["publish", "--db", db, "--spool", spool]);
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stdout).to.match(/^imported 0, duplicates 0, rejected 0, left 0 /);
  });

  it("exits 75 and leaves every file while another process holds the outbox's write lock", async () => {
    withOutbox(db, () => undefined);
    const messages = [makeMessage("dev", 1), makeMessage("dev", 2)];
    const paths = messages.map(deliver);
    const lock = await holdWriteLock(db);
    const result = await cli(["publish", "--db", db, "--spool", spool]);
    await lock.release();

    expect(result.status, result.stderr).to.equal(75);
    expect(result.stderr).to.match(/outbox cannot take the spool now.*locked.*nothing is lost, 2 files wait/);
    expect(paths.every((p) => existsSync(p))).to.equal(true);
    expect(outboxRecords(db)).to.have.length(0);

    const status = await cli(["status", "--spool", spool]);
    expect(status.status, status.stderr).to.equal(0);
    expect(status.stdout).to.match(/waiting: 2 messages \([^)]+\), oldest \S+ ago/);

    const after = await cli(["publish", "--db", db, "--spool", spool]);
    expect(after.status, after.stderr).to.equal(0);
    expect(outboxRecords(db).map((r) => r.messageId)).to.deep.equal(messages.map((m) => m.messageId));
    expect(readdirSync(join(spool, "lists", "dev", "new"))).to.deep.equal([]);
  });

  it("refuses --spool with a message source, and a spool that does not exist", async () => {
    const both = await cli(["publish", "--db", db, "--spool", spool, "--list", "dev", join(dir, "m.eml")]);
    expect(both.status).to.equal(64);
    const missing = await cli(["publish", "--db", db, "--spool", join(dir, "nowhere")]);
    expect(missing.status).to.equal(66);
    expect(missing.stderr).to.include("nowhere");
  });
});
