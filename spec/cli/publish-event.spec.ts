// `mq-archive publish --event` as scripts run it: the built CLI in a child
// process, checked against the outbox file it wrote. Run `npm run build` first.

import { expect } from "chai";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { OutboxStatus } from "../../lib/status/outbox.js";
import { runCli } from "../helpers/cli.js";
import { makeMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";
import { outboxRecords } from "./outbox-util.js";

/** Options the runner's own environment might set; "" counts as not given. */
const NO_ENV_OPTIONS = { MQ_ARCHIVE_DB: "", MQ_ARCHIVE_LIST: "", MQ_ARCHIVE_CONFIG: "", MQ_ARCHIVE_MAX_SIZE: "" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("mq-archive publish --event", () => {
  let dir: string;
  let db: string;
  beforeEach(() => {
    dir = tempDir("mqa-cli-event-");
    db = join(dir, "outbox.db");
  });

  const file = (name: string, body: string): string => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  };
  const publish = (args: string[], input?: string) =>
    runCli(["publish", "--db", db, "--event", ...args], { env: NO_ENV_OPTIONS, ...(input === undefined ? {} : { input }) });

  it("commits an event from FILE, prints its seq, and fills in id and at", async () => {
    const before = Date.now();
    const path = file("e.json", JSON.stringify({ type: "member-subscribed", list: "dev@lists.example.org", address: "ann@example.org", display_name: "Ann" }));
    const result = await publish([path]);
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.equal("1\n");
    expect(result.stderr).to.equal("");
    const [record, ...rest] = outboxRecords(db);
    expect(rest).to.deep.equal([]);
    expect(record).to.include({ seq: 1, kind: "event", list: "dev@lists.example.org" });
    const event = JSON.parse(record!.body.toString()) as Record<string, string>;
    expect(Object.keys(event)).to.deep.equal(["id", "type", "list", "at", "address", "display_name"]);
    expect(event.id).to.match(UUID);
    expect(record!.messageId).to.equal(`event:${event.id}`);
    expect(Date.parse(event.at!)).to.be.within(before - 1000, Date.now() + 1000);
    expect(event.at).to.match(/Z$/);
  });

  it("commits events from standard input, in order with the list's messages", async () => {
    const m = makeMessage("dev", 1);
    const message = await runCli(["publish", "--db", db, "--list", "dev"], { env: NO_ENV_OPTIONS, input: m.body });
    expect(message.stdout).to.equal("1\n");
    const created = await publish([], '{"type":"list-created","list":"dev","id":"c1","at":"2026-12-01T00:00:00Z"}');
    expect(created.status, created.stderr).to.equal(0);
    expect(created.stdout).to.equal("2\n");
    const owner = await publish([], '{"type":"owner-added","list":"dev","address":"o@example.org"}');
    expect(owner.stdout).to.equal("3\n");
    expect(outboxRecords(db).map((r) => [r.seq, r.kind, r.messageId.startsWith("event:")])).to.deep.equal([
      [1, "message", false],
      [2, "event", true],
      [3, "event", true],
    ]);
    expect(outboxRecords(db)[1]!.body.toString()).to.equal('{"id":"c1","type":"list-created","list":"dev","at":"2026-12-01T00:00:00Z"}');
  });

  it("answers the same event id again with the same seq, stored once, and says so on stderr", async () => {
    const json = '{"type":"moderator-added","list":"dev","id":"m-7","address":"mod@example.org"}';
    expect((await publish([], json)).stdout).to.equal("1\n");
    const again = await publish([file("again.json", json)]);
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stdout).to.equal("1\n");
    expect(again.stderr).to.include("m-7").and.to.include("already");
    expect(outboxRecords(db)).to.have.length(1);
    const otherList = await publish([], json.replace('"dev"', '"ops"'));
    expect(otherList.stdout, "the same id on another list is another event").to.equal("2\n");
  });

  const bad: Array<[string, string, RegExp]> = [
    ["invalid JSON", '{"type": "list-created", "list": ', /^mq-archive: the event is not valid JSON: /],
    ["empty input", "", /^mq-archive: the event is not valid JSON: /],
    ["an unknown type", '{"type":"list-renamed","list":"dev"}', /^mq-archive: the event has unknown type "list-renamed": use one of list-created, list-deleted, owner-added, owner-removed, moderator-added, moderator-removed, member-subscribed, member-unsubscribed\n$/],
    ["a missing type", '{"list":"dev"}', /^mq-archive: the event has no "type"/],
    ["a missing list", '{"type":"list-created"}', /^mq-archive: the event has no "list"\n$/],
    ["an invalid list", '{"type":"list-created","list":"../etc"}', /^mq-archive: invalid list name "\.\.\/etc"/],
    ["a list that is no string", '{"type":"list-created","list":7}', /^mq-archive: the event's "list" must be a string\n$/],
  ];
  for (const [what, input, message] of bad) {
    it(`exits 65 with a clear message for ${what}, committing nothing`, async () => {
      const result = await publish([], input);
      expect(result.status, result.stderr).to.equal(65);
      expect(result.stdout).to.equal("");
      expect(result.stderr).to.match(message);
      expect(existsSync(db), "no outbox created").to.equal(false);
    });
  }

  it("exits 65 when --list names another list than the event", async () => {
    const result = await runCli(["publish", "--db", db, "--list", "ops", "--event"], { env: NO_ENV_OPTIONS, input: '{"type":"list-created","list":"dev"}' });
    expect(result.status).to.equal(65);
    expect(result.stderr).to.include('the event is for list "dev", not --list "ops"');
  });

  it("still needs --list for a message", async () => {
    const result = await runCli(["publish", "--db", db], { env: NO_ENV_OPTIONS, input: makeMessage("dev", 1).body });
    expect(result.status).to.equal(64);
    expect(result.stderr).to.include("missing required option --list");
  });

  it("status counts the events among the records", async () => {
    await runCli(["publish", "--db", db, "--list", "dev"], { env: NO_ENV_OPTIONS, input: makeMessage("dev", 1).body });
    await publish([], '{"type":"list-created","list":"dev"}');
    await publish([], '{"type":"member-subscribed","list":"dev","address":"a@example.org"}');
    const json = await runCli(["status", "--db", db, "--json"], { env: NO_ENV_OPTIONS });
    expect(json.status, json.stderr).to.equal(0);
    expect((JSON.parse(json.stdout) as OutboxStatus).outbox).to.include({ records: 3, events: 2 });
    const text = await runCli(["status", "--db", db], { env: NO_ENV_OPTIONS });
    expect(text.stdout).to.match(/\b3 records retained \([^)]+\), 2 of them events, oldest seq 1\b/);
  });
});
