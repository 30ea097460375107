// Issue 14: list events are records (DESIGN property 13). Real processes:
// `publish --event`, serve and subscribe with maildir, events and exec sinks.

import { expect } from "chai";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive, type TestMessage } from "../helpers/messages.js";

const clean = { missing: [], duplicated: [], unexpected: 0, outOfOrder: false };

interface Published {
  messages: TestMessage[];
  /** Event ids by list, in seq order. */
  events: Map<string, string[]>;
  /** Every record's kind by seq. */
  kinds: Map<number, "message" | "event">;
}

const TYPES = ["list-created", "owner-added", "member-subscribed", "moderator-added", "member-unsubscribed", "owner-removed"];

/** Messages and events `from`..`to - 1` interleaved on `lists`: messages through the library, events through `publish --event`. */
async function publishInterleaved(mesh: Mesh, lists: readonly string[], from: number, to: number): Promise<Published> {
  const out: Published = { messages: [], events: new Map(lists.map((l) => [l, []])), kinds: new Map() };
  for (let i = from; i < to; i++) {
    for (const list of lists) {
      const m = makeMessage(list, i, 1200);
      out.kinds.set(mesh.publish([m])[0]!, "message");
      out.messages.push(m);
      const id = `${list}-event-${i}`;
      const event = { type: TYPES[i % TYPES.length], list, id, address: `user${i}@example.org` };
      const r = await runCli(["publish", "--db", mesh.db, "--event"], { input: JSON.stringify(event) });
      expect(r.status, r.stderr).to.equal(0);
      out.kinds.set(Number(r.stdout), "event");
      out.events.get(list)!.push(id);
    }
  }
  return out;
}

/** The ids of DIR/<list>.jsonl, checking each line is a whole event of that list. */
function eventIds(dir: string, list: string): string[] {
  const file = join(dir, `${list}.jsonl`);
  if (!existsSync(file)) return [];
  const text = readFileSync(file, "utf8");
  expect(text.endsWith("\n"), "whole lines").to.equal(true);
  return text
    .split("\n")
    .slice(0, -1)
    .map((line) => {
      const e = JSON.parse(line) as { id: string; type: string; list: string; at: string };
      expect(e.list).to.equal(list);
      expect(TYPES).to.include(e.type);
      expect(Number.isNaN(Date.parse(e.at))).to.equal(false);
      return e.id;
    });
}

describe("e2e: list events", function () {
  this.timeout(90_000);

  it("reach a subscriber interleaved with messages: maildir gets the messages, events:DIR the events in order, exec both with MQA_KIND", async () => {
    const mesh = await Mesh.create();
    const lists = ["dev", "ops"];
    const before = await publishInterleaved(mesh, lists, 0, 2);
    await mesh.serve();
    const kindsLog = mesh.path("kinds.log");
    const exec = `exec:printf '%s %s %s\\n' "$MQA_SEQ" "$MQA_KIND" "$(head -c 7)" >> ${kindsLog}`;
    mesh.subscribe("a.db", [`maildir:${mesh.path("maildir")}`, `events:${mesh.path("events")}`, exec], ["--name", "a"]);
    const after = await publishInterleaved(mesh, lists, 2, 5);
    await mesh.waitAcked(["a"], mesh.head());

    for (const list of lists) {
      const messages = [...before.messages, ...after.messages].filter((m) => m.list === list);
      const stored = readMaildirArchive(mesh.path("maildir"), list).map((f) => f.body);
      expect(compareArchive(messages, stored), list).to.deep.equal(clean);
      expect(eventIds(mesh.path("events"), list), list).to.deep.equal([...before.events.get(list)!, ...after.events.get(list)!]);
    }
    expect(readdirSync(mesh.path("events")).sort(), "events only, no message files").to.deep.equal(["dev.jsonl", "ops.jsonl"]);

    const kinds = new Map([...before.kinds, ...after.kinds]);
    const lines = readFileSync(kindsLog, "utf8").trim().split("\n");
    expect(lines.map((l) => Number(l.split(" ")[0]))).to.deep.equal([...kinds.keys()].sort((a, b) => a - b));
    for (const line of lines) {
      const [seq, kind, head] = line.split(" ");
      expect(kind, line).to.equal(kinds.get(Number(seq)));
      // An event's JSON on stdin starts with its id; a message is the message.
      if (kind === "event") expect(head, line).to.equal('{"id":"');
    }

    const status = await runCli(["status", "--state", mesh.path("a.db"), "--json"]);
    expect(status.status, status.stderr).to.equal(0);
    const counts = [...kinds.values()];
    expect(JSON.parse(status.stdout).archived, "status counts by kind").to.deep.equal({
      messages: counts.filter((k) => k === "message").length,
      events: counts.filter((k) => k === "event").length,
    });
  });

  it("a peer restricted to some lists never sees another list's events", async () => {
    const mesh = await Mesh.create();
    mesh.makeKey("publisher");
    const full = mesh.makeKey("full");
    const restricted = mesh.makeKey("restricted");
    mesh.writePeers([`${full.publicKey} name=full`, `${restricted.publicKey} name=restricted lists=public-*`]);
    const lists = ["public-dev", "private-board"];
    const before = await publishInterleaved(mesh, lists, 0, 2);
    await mesh.serveSecure();
    mesh.subscribeSecure("full.db", [`events:${mesh.path("full")}`], "full", ["--name", "full"]);
    mesh.subscribeSecure("restricted.db", [`events:${mesh.path("restricted")}`, `maildir:${mesh.path("restricted-mail")}`], "restricted", ["--name", "restricted"]);
    const after = await publishInterleaved(mesh, lists, 2, 4);
    await mesh.waitAcked(["full", "restricted"], mesh.head());

    for (const list of lists) {
      const all = [...before.events.get(list)!, ...after.events.get(list)!];
      expect(eventIds(mesh.path("full"), list), `full, ${list}`).to.deep.equal(all);
      expect(eventIds(mesh.path("restricted"), list), `restricted, ${list}`).to.deep.equal(list.startsWith("public-") ? all : []);
    }
    expect(readdirSync(mesh.path("restricted"))).to.deep.equal(["public-dev.jsonl"]);
    expect(readdirSync(mesh.path("restricted-mail"))).to.deep.equal(["public-dev"]);
  });
});
