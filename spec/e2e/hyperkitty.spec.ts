// Issue 15: the hyperkitty sink with real processes at both ends: serve and
// subscribe (spec/helpers/mesh.ts), and a real HyperKitty (Debian's, under
// Django's development server, spec/sinks/hyperkitty/server.ts) that checks
// the key and stores. Each message is checked in HyperKitty's database (once,
// in order), through its API, and against the bytes it was sent.

import { expect } from "chai";
import { runCli, type Daemon } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage, sha256, type TestMessage } from "../helpers/messages.js";
import { waitFor } from "../helpers/wait.js";
import { HyperKitty, hyperkittyMissing, storedIds } from "../sinks/hyperkitty/server.js";

describe("e2e: archiving into HyperKitty", function () {
  this.timeout(240_000);
  let hk: HyperKitty;

  before(async function () {
    const missing = hyperkittyMissing();
    if (missing) {
      console.warn(`\n  !!! SKIPPING the HyperKitty end-to-end tests: ${missing}.\n`);
      this.skip();
    }
    hk = await HyperKitty.create();
  });
  after(async () => {
    await hk?.destroy();
  });
  afterEach(async () => {
    await hk?.reset();
  });

  function subscribe(mesh: Mesh, keyFile: string, state = "sub.db"): Daemon {
    const options = ["--name", "hk", "--hyperkitty-key-file", keyFile, "--exec-retries", "2", "--retry-max", "1s"];
    return mesh.subscribe(state, [`hyperkitty:${hk.base}`], options);
  }

  /** HyperKitty holds exactly `messages` for `list`, in this order, each the bytes published, each found through its API. */
  async function expectArchived(list: string, messages: readonly TestMessage[]): Promise<void> {
    const ids = (await storedIds(messages.map((m) => m.body))) as string[];
    expect(hk.emails(list).map((e) => e.messageId), `${list}: once each, in order`).to.deep.equal(ids);
    messages.forEach((m, i) => expect(sha256(hk.captured(list, ids[i]!) ?? Buffer.alloc(0)), `${list}: bytes of ${m.messageId}`).to.equal(sha256(m.body)));
    for (const id of ids) expect(await hk.apiEmail(list, id), `${id} through the API`).to.include({ message_id: id });
  }

  const textMessage = (list: string, messageId: string, text: string): TestMessage => ({ list, messageId, body: Buffer.from(text, "utf8") });

  it("archives a few dozen messages once each, in order; a message HyperKitty holds already counts as stored; one without Message-ID and one it refuses become dead letters with its text; events pass by", async () => {
    const mesh = await Mesh.create();
    await mesh.serve();
    const keyFile = hk.writeKeyFile("e2e.key");
    const lists = ["dev@lists.example.org", "users@lists.example.org"];
    const expected = new Map<string, TestMessage[]>(lists.map((l) => [l, []]));
    const dup = makeMessage(lists[0]!, 7, 1500);
    expect(await hk.archiveDirectly(dup.list, dup.body), "archived before mq-archive came").to.equal(200);
    for (let i = 0; i < 16; i++) {
      for (const list of lists) {
        const m = makeMessage(list, i, 1500 + 100 * i);
        mesh.publish([m]);
        expected.get(list)!.push(m);
      }
      if (i === 4) {
        const r = await runCli(["publish", "--db", mesh.db, "--event"], { input: JSON.stringify({ type: "member-subscribed", list: lists[0], id: "e-1", address: "new@example.org" }) });
        expect(r.status, r.stderr).to.equal(0);
        // publish derives an id for the outbox and leaves the bytes alone: HyperKitty gets no Message-ID.
        await mesh.publishCli([textMessage(lists[0]!, "", "From: Ann <ann@example.org>\nSubject: no id\n\nThis one has no Message-ID.\n")]);
      }
      if (i === 9) {
        await mesh.publishCli([textMessage(lists[1]!, "", "From: Zoë <zoë@exämple.org>\nMessage-ID: <accents@e2e.example.org>\nSubject: accents\n\nA sender HyperKitty cannot take.\n")]);
      }
    }
    const sub = subscribe(mesh, keyFile);
    await mesh.waitAcked(["hk"], mesh.head());

    // The duplicate stays where HyperKitty had it: first in dev's order.
    const dev = expected.get(lists[0]!)!;
    await expectArchived(lists[0]!, [dup, ...dev.filter((m) => m.messageId !== dup.messageId)]);
    await expectArchived(lists[1]!, expected.get(lists[1]!)!);

    const dead = JSON.parse((await runCli(["dead-letters", "--state", mesh.path("sub.db"), "list", "--json"])).stdout) as Array<Record<string, unknown>>;
    expect(dead.map((d) => [d.sink, d.list, d.error])).to.deep.equal([
      [`hyperkitty:${hk.base}`, lists[0], "HyperKitty refused the message (400): No 'Message-Id' header in email"],
      [`hyperkitty:${hk.base}`, lists[1], "HyperKitty refused the message (400): Non-ascii sender address"],
    ]);
    const status = JSON.parse((await runCli(["status", "--state", mesh.path("sub.db"), "--json"])).stdout);
    expect(status.archived).to.deep.equal({ messages: 34, events: 1 });
    expect(status.sinkProblems).to.deep.equal([]);
    expect(sub.stderrText.join("\n")).not.to.contain(hk.key);

    // Issue 17: verify reads HyperKitty back through its API, finds an email deleted by hand, and --repair gives it again.
    await sub.stop();
    const sink = `hyperkitty:${hk.base}`;
    const verify = (extra: string[] = []) =>
      runCli(["verify", "--insecure", "--connect", mesh.endpoint, "--state", mesh.path("sub.db"), "--sink", sink, "--hyperkitty-key-file", keyFile, ...extra]);
    const clean = await verify();
    expect(clean.status, clean.stdout + clean.stderr).to.equal(0);
    const [victimId] = (await storedIds([dev[5]!.body])) as string[]; // an odd Message-ID: HyperKitty keeps what Python reads of it
    await hk.deleteEmail(lists[0]!, victimId!);
    const found = await verify(["--json"]);
    expect(found.status, found.stdout + found.stderr).to.equal(1);
    const lost = (JSON.parse(found.stdout) as { lost: Array<{ list: string; sink: string }> }).lost;
    expect(lost.map((l) => [l.list, l.sink])).to.deep.equal([[lists[0], sink]]);
    const repaired = await verify(["--repair"]);
    expect(repaired.status, repaired.stdout + repaired.stderr).to.equal(0);
    expect(hk.emails(lists[0]!).filter((e) => e.messageId === victimId), "stored again, once").to.have.length(1);
    const again = await verify();
    expect(again.status, again.stdout + again.stderr).to.equal(0);
  });

  it("loses nothing while HyperKitty is down or the subscriber is killed: it waits, then stores each message once, in order", async () => {
    const mesh = await Mesh.create();
    await mesh.serve();
    const keyFile = hk.writeKeyFile("e2e.key");
    const list = "down@lists.example.org";
    const messages = Array.from({ length: 24 }, (_, i) => makeMessage(list, i, 3000));
    let sub = subscribe(mesh, keyFile);
    mesh.publish(messages.slice(0, 8));
    await mesh.waitAcked(["hk"], 8);

    await hk.stop();
    mesh.publish(messages.slice(8));
    await sub.waitForLog((l) => l.msg === "temporary sink failure; will retry" && String((l.err as { message?: string })?.message).includes("cannot reach HyperKitty"));
    expect(mesh.acked().get("hk"), "nothing acknowledged that HyperKitty did not store").to.equal(8);
    await sub.kill9();
    sub = subscribe(mesh, keyFile);
    await hk.start();
    // Killed again while storing: what it stored and did not commit comes again, and HyperKitty answers 200 for it.
    await waitFor(() => hk.emails(list).length >= 14, { timeoutMs: 120_000, what: "HyperKitty to hold 14 messages" });
    await sub.kill9();
    sub = subscribe(mesh, keyFile);
    await mesh.waitAcked(["hk"], 24, 120_000);
    await expectArchived(list, messages);
    const status = JSON.parse((await runCli(["status", "--state", mesh.path("sub.db"), "--json"])).stdout);
    expect(status.deadLetters).to.equal(0);
  });

  it("pauses on a wrong key, says so once in the log and in status --state, and goes on when the key file is fixed, without a restart", async () => {
    const mesh = await Mesh.create();
    await mesh.serve();
    const wrong = "not-the-archiver-key-5e1f";
    const keyFile = hk.writeKeyFile("wrong.key", wrong);
    const list = "keys@lists.example.org";
    const messages = Array.from({ length: 5 }, (_, i) => makeMessage(list, i, 2000));
    const sub = subscribe(mesh, keyFile);
    mesh.publish(messages);
    await sub.waitForLog((l) => String(l.msg).startsWith("sink needs attention"));
    // Several retries later, still said once.
    await waitFor(() => sub.logs.filter((l) => l.msg === "temporary sink failure; will retry").length >= 3, { timeoutMs: 60_000, what: "three retries" });
    const loud = sub.logs.filter((l) => (l.level ?? 0) >= 40 && JSON.stringify(l).includes("(401)"));
    expect(loud.map((l) => l.msg), "said once, at error").to.deep.equal([
      `sink needs attention: HyperKitty at ${hk.base}api/mailman/archive refused the archiver key (401): ${keyFile} does not hold its MAILMAN_ARCHIVER_KEY ` +
        "(the file is read again at each retry: no restart needed); archiving to it is paused and retried until that is fixed",
    ]);
    expect(loud[0]!.level).to.equal(50);
    expect(mesh.acked().get("hk") ?? 0, "nothing acknowledged").to.equal(0);

    const text = (await runCli(["status", "--state", mesh.path("sub.db")])).stdout;
    expect(text).to.match(new RegExp(`needs attention for \\S+: hyperkitty:${hk.base.replace(/[.?]/g, "\\$&")}: HyperKitty at \\S+ refused the archiver key \\(401\\)`));
    const json = JSON.parse((await runCli(["status", "--state", mesh.path("sub.db"), "--json"])).stdout);
    expect(json.sinkProblems.map((p: { sink: string }) => p.sink)).to.deep.equal([`hyperkitty:${hk.base}`]);
    expect(hk.emails(list)).to.deep.equal([]);

    hk.writeKeyFile("wrong.key"); // fixed in place; the subscriber keeps running
    await mesh.waitAcked(["hk"], 5, 60_000);
    await expectArchived(list, messages);
    expect(sub.logs.filter((l) => l.msg === "sink problem solved: it stores again")).to.have.length(1);
    const after = JSON.parse((await runCli(["status", "--state", mesh.path("sub.db"), "--json"])).stdout);
    expect(after.sinkProblems).to.deep.equal([]);
    expect(after.deadLetters).to.equal(0);
    expect(sub.stderrText.join("\n") + text).not.to.contain(wrong).and.not.to.contain(hk.key);
  });
});
