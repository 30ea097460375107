// List events from a real GNU Mailman 3, through the pip-installed plugin:
// creating a list with an owner, adding and removing a moderator, a post and
// deleting the list reach an `events:` sink as exactly those events, in
// order with the post; members are not events by default (personal data);
// and a peer restricted to another list sees none of them.

import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Outbox } from "../../lib/store/outbox.js";
import { Mesh } from "../helpers/mesh.js";
import { readMaildirArchive } from "../helpers/messages.js";
import { mailmanMissing, MailmanSite } from "./site.js";
import { skipWhenMissing } from "../helpers/skip.js";

/** The events of a list an `events:` sink stored, in order. */
function storedEvents(dir: string, list: string): Array<Record<string, string>> {
  const file = join(dir, `${list}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, string>);
}

describe("Mailman: list events through the mq-archive plugin", function () {
  this.timeout(240_000);

  before(function () {
    skipWhenMissing(this, "the Mailman tests", mailmanMissing());
  });

  it("publishes list created, owner, moderator added and removed, and list deleted, in order with the list's posts", async () => {
    const mesh = await Mesh.create();
    mesh.makeKey("publisher");
    const full = mesh.makeKey("full");
    const other = mesh.makeKey("other");
    mesh.writePeers([`${full.publicKey} name=full`, `${other.publicKey} name=other lists=other@example.com`]);
    const site = await MailmanSite.create(mesh.dir, mesh.db);
    await mesh.serveSecure(["--spool", site.defaultSpool]);
    mesh.subscribeSecure("full.db", [`events:${mesh.path("full-events")}`, `maildir:${mesh.path("full-mail")}`], "full", ["--name", "full"]);
    mesh.subscribeSecure("other.db", [`events:${mesh.path("other-events")}`, `maildir:${mesh.path("other-mail")}`], "other", ["--name", "other"]);

    await site.createList("other@example.com");
    await site.createList("dev@example.com", "owner@example.com");
    await site.shell("dev@example.com", "add_moderator", "mod@example.org");
    await site.addMember("dev@example.com", "poster@example.org"); // a member: no event unless member_events is on
    await site.shell("dev@example.com", "remove_moderator", "mod@example.org");
    await site.post("dev@example.com", "post.eml", "Subject: hello\nMessage-ID: <ev-post@example.org>\n\nA post between the events.\n");
    await site.drainQueues();
    await site.mailman("remove", "dev@example.com");
    await mesh.waitAcked(["full", "other"], mesh.head());

    const events = storedEvents(mesh.path("full-events"), "dev@example.com");
    expect(events.map((e) => [e.type, e.address])).to.deep.equal([
      ["list-created", undefined],
      ["owner-added", "owner@example.com"],
      ["moderator-added", "mod@example.org"],
      ["moderator-removed", "mod@example.org"],
      ["list-deleted", undefined],
    ]);
    for (const e of events) {
      expect(e.list).to.equal("dev@example.com");
      expect(e.id).to.match(/^[0-9a-f-]{36}$/);
      expect(Date.parse(e.at ?? "")).to.be.within(Date.now() - 600_000, Date.now());
    }
    expect(new Set(events.map((e) => e.id)).size, "each event once").to.equal(events.length);
    expect(storedEvents(mesh.path("full-events"), "other@example.com").map((e) => e.type)).to.deep.equal(["list-created"]);
    expect(readMaildirArchive(mesh.path("full-mail"), "dev@example.com")).to.have.length(1);

    // In the outbox, the post sits between the moderator's removal and the deletion.
    const outbox = Outbox.open(mesh.db, { create: false });
    try {
      const dev = outbox.records.readAfter(0, { limit: 100, maxBytes: 1 << 20 }).filter((r) => r.list === "dev@example.com");
      expect(dev.map((r) => (r.kind === "event" ? JSON.parse(r.body.toString()).type : r.messageId))).to.deep.equal([
        "list-created", "owner-added", "moderator-added", "moderator-removed", "<ev-post@example.org>", "list-deleted",
      ]);
    } finally {
      outbox.close();
    }

    // The peer granted only other@example.com saw none of dev's events nor its post.
    expect(readdirSync(mesh.path("other-events"))).to.deep.equal(["other@example.com.jsonl"]);
    expect(existsSync(join(mesh.path("other-mail"), "dev@example.com"))).to.equal(false);
    expect(site.log()).not.to.match(/spooled|NOT ARCHIVED|Traceback|cannot hand off/);
  });
});
