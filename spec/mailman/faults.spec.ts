// No post lost on Mailman's hop: with a real GNU Mailman 3 and the
// pip-installed plugin, posts made while the outbox is on a full disk, then
// held locked past the plugin's timeout, then while the `mq-archive` command
// is missing, are spooled (the log says so, and why), and once each fault
// clears they reach the archive exactly once, imported by `serve --spool`
// with no operator action.

import { expect } from "chai";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Outbox } from "../../lib/store/outbox.js";
import { Daemon } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { readMaildirArchive } from "../helpers/messages.js";
import { holdWriteLock } from "../helpers/outbox-lock.js";
import { fill, smallDisk, type SmallDisk } from "../helpers/small-disk.js";
import { waitFor } from "../helpers/wait.js";
import { mailmanMissing, MailmanSite } from "./site.js";
import { skipWhenMissing } from "../helpers/skip.js";

const LIST = "dev@example.com";

/** A post of about `size` bytes (a full disk refuses it; the WAL's slack cannot hold it). */
function postText(id: string, size = 0): string {
  const line = `${id} ${"x".repeat(70)}\n`;
  return `Subject: ${id}\nMessage-ID: <${id}@example.org>\n\n${line.repeat(Math.max(1, Math.ceil(size / line.length)))}`;
}

describe("Mailman: no post lost when the outbox cannot take it", function () {
  this.timeout(300_000);
  let disk: SmallDisk | null = null;

  beforeEach(function () {
    skipWhenMissing(this, "the Mailman tests", mailmanMissing());
    const mounted = smallDisk("16m");
    if (typeof mounted === "string") {
      console.warn(`\n  !!! SKIPPING the Mailman fault test: ${mounted}. It needs root (or CAP_SYS_ADMIN) to mount a tmpfs.\n`);
      this.skip();
    }
    disk = mounted;
  });

  afterEach(() => {
    disk?.unmount();
    disk = null;
  });

  it("spools posts made during a full disk, a held lock and a missing command; each reaches the archive once", async () => {
    const mesh = await Mesh.create();
    const outbox = join(disk!.dir, "outbox.db");
    const site = await MailmanSite.create(mesh.dir, outbox, { timeout: 3 });
    await site.createList(LIST);
    await site.addMember(LIST, "poster@example.org");
    await site.shell(LIST, "no_size_limit");
    const serve = Daemon.start(["serve", "--insecure", "--db", outbox, "--bind", mesh.endpoint, "--spool", site.defaultSpool, "--log-level", "debug"]);
    await serve.waitForLog("publisher listening");
    mesh.subscribe("peer.db", [`maildir:${mesh.path("archive")}`], ["--name", "archive"]);
    const spooledFor = (id: string) => new RegExp(`mq-archive: post <${id}@example.org> to ${LIST} spooled in \\S+ for serve --spool to import: (.*)`).exec(site.log())?.[1];

    // 1. The outbox's disk is full: publish exits 74.
    const filler = fill(disk!.dir, 0);
    for (const id of ["full-1", "full-2"]) await site.post(LIST, `${id}.eml`, postText(id, 1 << 20));
    await site.drainQueues();
    expect(spooledFor("full-1")).to.match(/^exit 74: /);
    // The second waits behind the first: the spool is drained first, which fails the same way.
    expect(spooledFor("full-2")).to.match(/^older items wait in the spool and draining it failed \(exit 75: .*disk full/);
    rmSync(filler);

    // 2. Another process holds the outbox's write lock past the plugin's timeout (3 s).
    const lock = await holdWriteLock(outbox);
    await site.post(LIST, "locked.eml", postText("locked"));
    await site.drainQueues();
    await lock.release();
    expect(spooledFor("locked")).to.match(/gave no answer within 3 s and was killed/);

    // 3. The mq-archive command is missing.
    site.configure({ timeout: 3, command: `${mesh.path("not-installed/mq-archive")} publish --db ${outbox}` });
    await site.post(LIST, "missing.eml", postText("missing"));
    await site.drainQueues();
    expect(spooledFor("missing")).to.match(/cannot run \S+not-installed\/mq-archive: No such file or directory/);

    // Repaired: the next post goes straight in (behind whatever still waits).
    site.configure({ timeout: 3 });
    await site.post(LIST, "after.eml", postText("after"));
    await site.drainQueues();
    expect(spooledFor("after")).to.equal(undefined);

    const ids = ["full-1", "full-2", "locked", "missing", "after"].map((id) => `<${id}@example.org>`);
    const waiting = join(site.defaultSpool, "lists", LIST, "new");
    await waitFor(() => !existsSync(waiting) || readdirSync(waiting).length === 0, { timeoutMs: 60_000, what: "the spool to drain" });
    const db = Outbox.open(outbox, { create: false });
    let committed: string[];
    try {
      committed = db.records.readAfter(0, { limit: 1000, maxBytes: 64 << 20 }).filter((r) => r.kind === "message").map((r) => r.messageId);
    } finally {
      db.close();
    }
    expect([...committed].sort(), "each post committed once").to.deep.equal([...ids].sort());
    const stored = () => (existsSync(mesh.path("archive")) ? readMaildirArchive(mesh.path("archive"), LIST) : []);
    await waitFor(() => stored().length >= ids.length, { timeoutMs: 60_000, what: `the archive to hold the ${ids.length} posts` });
    const archived = stored().map((f) => /^Message-ID: (.*)$/m.exec(f.body.toString("utf8"))?.[1]);
    expect([...archived].sort(), "each post archived once").to.deep.equal([...ids].sort());
    expect(serve.alive, "serve kept running").to.equal(true);
    expect(site.log()).not.to.match(/NOT ARCHIVED|Traceback/);
    expect(readdirSync(join(site.defaultSpool, "rejected", "lists"))).to.deep.equal([]);
  });
});
