// Issue 17: a chain origin → relay → mirror, as real processes with CURVE.
// The relay's subscribe stores into an outbox of its own (outbox:PATH) and a
// second serve serves it with its own key and peers file; the mirror
// connects to the relay first and to the origin second. A relay keeps the
// origin's identity, so the mirror moves between them (relay killed, relay
// behind, relay back) without skipping or repeating a record.

import { expect } from "chai";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Daemon, runCli } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive, type TestMessage } from "../helpers/messages.js";
import { waitFor } from "../helpers/wait.js";
import { Outbox } from "../../lib/store/outbox.js";

const LISTS = ["public-dev", "private-board", "public-users"];
const clean = { missing: [], duplicated: [], unexpected: 0, outOfOrder: false };

function batch(from: number, n: number): TestMessage[] {
  return Array.from({ length: n }, (_, i) => makeMessage(LISTS[(from + i) % 3]!, from + i, 1500));
}

describe("e2e: relay", function () {
  this.timeout(120_000);

  it("origin → relay → mirror: the relay keeps the origin's identity and its lists only; the mirror fails over to the origin and back, each record once, in order", async () => {
    const origin = await Mesh.create();
    const relay = await Mesh.create();
    origin.makeKey("publisher");
    const relayPeer = origin.makeKey("relay");
    const mirror = origin.makeKey("mirror");
    origin.writePeers([`${relayPeer.publicKey} name=relay lists=public-*`, `${mirror.publicKey} name=mirror lists=public-*`]);
    relay.makeKey("publisher");
    relay.writePeers([`${mirror.publicKey} name=mirror`]);

    await origin.serveSecure();
    const relaySinks = [`outbox:${relay.db}`, `maildir:${origin.path("relay-archive")}`];
    let relaySub = origin.subscribeSecure("relay-state.db", relaySinks, "relay");
    let relayServe = await relay.serveSecure();
    const mirrorArgs = ["subscribe", "--state", origin.path("mirror-state.db"), "--sink", `maildir:${origin.path("mirror-archive")}`];
    mirrorArgs.push("--key", mirror.keyFile, "--connect", relay.endpoint, "--server-key", relay.path("publisher.pub"));
    mirrorArgs.push("--connect", origin.endpoint, "--server-key", origin.path("publisher.pub"));
    const mirrorSub = Daemon.start([...mirrorArgs, "--failover-after", "1s", "--return-after", "4s", "--log-level", "debug"]);

    const sent: TestMessage[] = [];
    const publicOnes = () => sent.filter((m) => m.list.startsWith("public-"));
    const archived = (dir: string) => LISTS.flatMap((l) => readMaildirArchive(origin.path(dir), l)).length;
    const publish = (n: number) => {
      const more = batch(sent.length, n);
      origin.publish(more);
      sent.push(...more);
    };
    const mirrorHasAll = (what: string) =>
      waitFor(() => archived("mirror-archive") >= publicOnes().length, { timeoutMs: 60_000, what: `the mirror to archive ${publicOnes().length} (${what})` });

    // 1. Through the relay.
    publish(30);
    await mirrorHasAll("through the relay");
    await relayServe.waitForLog((l) => l.msg === "peer session started" && l.name === "mirror");
    const relayOutbox = Outbox.open(relay.db, { create: false });
    const originOutbox = Outbox.open(origin.db, { create: false });
    try {
      expect(relayOutbox.identity(), "the relay speaks of the origin's outbox").to.equal(originOutbox.id);
      const kept = relayOutbox.records.readAfter(0, { limit: 1000, maxBytes: 1e9 });
      expect(kept.map((r) => r.list).every((l) => l.startsWith("public-")), "only the lists the relay may receive").to.equal(true);
      expect(kept.length).to.equal(publicOnes().length);
    } finally {
      await relayOutbox.close();
      await originOutbox.close();
    }

    // 2. The relay's serve dies: the mirror goes to the origin.
    await relayServe.kill9();
    publish(30);
    await mirrorHasAll("from the origin, the relay down");
    await mirrorSub.waitForLog((l) => l.msg === "moving to another endpoint" && l.connect === origin.endpoint);

    // 3. The relay's serve is back but its subscribe is not: it is behind the mirror, which must wait, not fail.
    await relaySub.kill9();
    relayServe = await relay.serveSecure();
    publish(30);
    await mirrorHasAll("from the origin, the relay behind");
    await mirrorSub.waitForLog((l) => l.msg === "the publisher asks us to wait" && String(l.reason).includes("behind this peer"), 30_000);
    expect(mirrorSub.alive, "the mirror waits for a relay behind it").to.equal(true);

    // 4. The relay catches up; the mirror returns to it and takes what comes next from it.
    relaySub = origin.subscribeSecure("relay-state.db", relaySinks, "relay");
    const sessionsAtRelay = () => relayServe.logs.filter((l) => l.msg === "peer session started" && l.name === "mirror").length;
    await waitFor(() => sessionsAtRelay() > 0, { timeoutMs: 30_000, what: "the mirror back at the relay" });
    publish(30);
    await mirrorHasAll("through the relay again");

    for (const dir of ["mirror-archive", "relay-archive"]) {
      await waitFor(() => archived(dir) >= publicOnes().length, { timeoutMs: 30_000, what: dir });
      for (const list of LISTS) {
        const expected = sent.filter((m) => m.list === list && list.startsWith("public-"));
        expect(compareArchive(expected, readMaildirArchive(origin.path(dir), list).map((f) => f.body)), `${dir} ${list}`).to.deep.equal(clean);
      }
    }
    expect(mirrorSub.logs.filter((l) => (l.level ?? 0) >= 50).map((l) => l.msg), "no error in the mirror").to.deep.equal([]);
  });

  it("a relay that started mid-history (--start new) makes a mirror that needs older records wait, never skip; with the origin as its next endpoint it gets them there", async () => {
    const origin = await Mesh.create();
    const relay = await Mesh.create();
    await origin.serve();
    const sent: TestMessage[] = batch(0, 12);
    origin.publish(sent);
    const relaySub = origin.subscribe("relay-state.db", [`outbox:${relay.db}`], ["--start", "new"]);
    await relaySub.waitForLog("session with the publisher started");
    const relayServe = await relay.serve();
    const later = batch(12, 12);
    origin.publish(later);
    sent.push(...later);
    await waitFor(() => relay.head() >= origin.head(), { what: "the relay to store what came after its start" });

    // A mirror with only the relay: it needs seq 1.., which the relay never had.
    const lonely = Daemon.start(["subscribe", "--insecure", "--connect", relay.endpoint, "--state", origin.path("lonely.db"), "--sink", `maildir:${origin.path("lonely")}`, "--log-level", "debug"]);
    await lonely.waitForLog((l) => l.msg === "the publisher asks us to wait" && String(l.reason).includes("does not hold seq 1 to 12"));
    expect(archived(origin.path("lonely")), "nothing skipped: nothing stored").to.equal(0);
    await lonely.stop();

    // The same with the origin as its second endpoint: everything, once, in order.
    const both = ["--connect", relay.endpoint, "--connect", origin.endpoint, "--failover-after", "1s", "--return-after", "60s"];
    const mirror = Daemon.start(["subscribe", "--insecure", ...both, "--state", origin.path("mirror.db"), "--sink", `maildir:${origin.path("mirror")}`, "--log-level", "debug"]);
    await waitFor(() => archived(origin.path("mirror")) >= sent.length, { timeoutMs: 30_000, what: "the mirror to archive everything" });
    for (const list of LISTS) {
      const expected = sent.filter((m) => m.list === list);
      expect(compareArchive(expected, readMaildirArchive(origin.path("mirror"), list).map((f) => f.body)), list).to.deep.equal(clean);
    }
    expect(mirror.alive && relayServe.alive).to.equal(true);

    // verify against the relay (its ledger knows seq 13 on) and against the origin: both agree.
    await mirror.stop();
    const sink = ["--sink", `maildir:${origin.path("mirror")}`];
    for (const endpoint of [relay.endpoint, origin.endpoint]) {
      const r = await runCli(["verify", "--insecure", "--connect", endpoint, "--state", origin.path("mirror.db"), ...sink]);
      expect(r.status, `verify at ${endpoint}: ${r.stdout}${r.stderr}`).to.equal(0);
    }
    // A message file lost from the mirror: the relay's ledger finds it, and --repair fetches it from the relay.
    const dev = readMaildirArchive(origin.path("mirror"), "public-dev");
    const newDir = join(origin.path("mirror"), "public-dev", "new");
    rmSync(join(newDir, readdirSync(newDir).sort().at(-1)!));
    const found = await runCli(["verify", "--insecure", "--connect", relay.endpoint, "--state", origin.path("mirror.db"), ...sink, "--repair"]);
    expect(found.status, found.stdout + found.stderr).to.equal(0);
    expect(readMaildirArchive(origin.path("mirror"), "public-dev").length).to.equal(dev.length);
  });
});

function archived(dir: string): number {
  return LISTS.flatMap((l) => readMaildirArchive(dir, l)).length;
}
