// The README's Mailman set-up with a real GNU Mailman 3: posts go through
// Mailman's in, pipeline and archive runners, the mq-archive archiver (the
// pip-installed package) commits them, and an archive peer stores each once,
// with the Archived-At header HyperKitty's scheme gives.

import { expect } from "chai";
import { Mesh } from "../helpers/mesh.js";
import { readMaildirArchive } from "../helpers/messages.js";
import { mailmanMissing, MailmanSite, messageIdHash } from "./site.js";
import { skipWhenMissing } from "../helpers/skip.js";

describe("Mailman: posts through the mq-archive archiver", function () {
  this.timeout(180_000);

  before(function () {
    skipWhenMissing(this, "the Mailman tests", mailmanMissing());
  });

  it("archives each post Mailman accepts once, through publish, serve and subscribe, with Archived-At", async () => {
    const mesh = await Mesh.create();
    const site = await MailmanSite.create(mesh.dir, mesh.db);
    await site.createList("dev@example.com");
    await site.addMember("dev@example.com", "poster@example.org");
    const posts = [
      "Subject: first post\nMessage-ID: <mm-1@example.org>\n\nHello from Mailman.\n",
      "Subject: second post\nMessage-ID: <mm-2@example.org>\nContent-Type: text/plain; charset=utf-8\n\nCaf\u00e9 au lait, archived through mq-archive.\n",
    ];
    for (const [i, text] of posts.entries()) await site.post("dev@example.com", `post${i}.eml`, text);
    await site.drainQueues();

    const log = site.log();
    // Seq 1 is the list's list-created event (the plugin's).
    expect(log).to.match(/mq-archive: event list-created \S+ of dev@example.com committed as seq 1\n/);
    expect(log).to.contain("mq-archive: post <mm-1@example.org> to dev@example.com committed as seq 2\n");
    expect(log).to.contain("mq-archive: post <mm-2@example.org> to dev@example.com committed as seq 3\n");
    expect(log).not.to.match(/spooled|NOT ARCHIVED|Traceback/);

    await mesh.serve();
    mesh.subscribe("peer.db", [`maildir:${mesh.path("archive")}`], ["--name", "archive"]);
    await mesh.waitAcked(["archive"], 3);
    const archived = readMaildirArchive(mesh.path("archive"), "dev@example.com").map((f) => f.body.toString("utf8"));
    expect(archived).to.have.length(2);
    expect(archived[0]).to.contain("Message-ID: <mm-1@example.org>").and.to.contain("Hello from Mailman.");
    expect(archived[1]).to.contain("Caf\u00e9 au lait");
    expect(archived[0], "Mailman's own headers came along").to.match(/^List-Id: /m);
    for (const [i, text] of archived.entries()) {
      const hash = messageIdHash(`mm-${i + 1}@example.org`);
      const header = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, "m").exec(text.replace(/\r?\n[ \t]+/g, " "))?.[1];
      expect(header("Message-ID-Hash")).to.equal(hash);
      expect(header("Archived-At")).to.equal(`<https://archives.example.org/hyperkitty/list/dev@example.com/message/${hash}/>`);
      expect(header("List-Archive")).to.equal("<https://archives.example.org/hyperkitty/list/dev@example.com/>");
    }
  });
});
