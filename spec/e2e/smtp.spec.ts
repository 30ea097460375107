// Issue 15: the smtp:ADDRESS sink with real processes: publish, serve and
// subscribe, and aiosmtpd (spec/helpers/smtp_archive.py) as the server,
// which records every DATA it sees and stores messages byte for byte.

import { expect } from "chai";
import { createHash } from "node:crypto";
import { smtpData } from "../../lib/message/smtp-data.js";
import { runCli, type LogLine } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage, type TestMessage } from "../helpers/messages.js";
import { SmtpTestServer, smtpServerMissing, stopSmtpServers, type Arrival } from "../helpers/smtp-server.js";
import { waitFor } from "../helpers/wait.js";

const ADDRESS = "archive@example.org";
const SENDER = "archive-bounces@example.org";
const LISTS = ["dev", "ops", "announce"];

/** sha256 of what the server receives for a message: its bytes with CR LF line breaks. */
const wireHash = (body: Buffer): string => createHash("sha256").update(smtpData(body)).digest("hex");

/** The outcomes of every DATA of this message, in order. */
const outcomes = (arrivals: readonly Arrival[], m: TestMessage): string[] => arrivals.filter((a) => a.sha256 === wireHash(m.body)).map((a) => a.outcome);

function subscribe(mesh: Mesh, server: SmtpTestServer, extra: string[] = []) {
  const options = ["--name", "s", "--smtp-url", server.url(), "--smtp-from", SENDER, "--exec-retries", "2", "--retry-max", "500ms"];
  return mesh.subscribe("sub.db", [`smtp:${ADDRESS}`], [...options, ...extra]);
}

/** Messages `from`..`to - 1` of every list, round robin, of varied sizes. */
function messages(from: number, to: number): TestMessage[] {
  const out: TestMessage[] = [];
  for (let i = from; i < to; i++) for (const list of LISTS) out.push(makeMessage(list, i, 800 + ((i * 7919) % 6000)));
  return out;
}

/** The messages stored for ADDRESS, by list (from their To:), in arrival order, as the hashes of what arrived. */
function storedByList(server: SmtpTestServer): Map<string, string[]> {
  const out = new Map<string, string[]>(LISTS.map((l) => [l, []]));
  for (const data of server.stored(ADDRESS)) {
    const list = /\r\nTo: ([^@\r]+)@lists\.example\.org\r\n/.exec(data.toString("latin1"))?.[1];
    if (list !== undefined) out.get(list)!.push(createHash("sha256").update(data).digest("hex"));
  }
  return out;
}

describe("e2e: the smtp sink", function () {
  this.timeout(180_000);

  before(function () {
    const missing = smtpServerMissing();
    if (missing) {
      console.warn(`\n  !!! SKIPPING the smtp e2e tests: ${missing}.\n`);
      this.skip();
    }
  });
  afterEach(stopSmtpServers);

  it("archives three dozen messages once each, unchanged but for CR LF, in per-list order, through 4xx, 5xx and a server down then up", async () => {
    const server = await SmtpTestServer.start();
    const mesh = await Mesh.create();
    const first = messages(0, 12);
    const flaky = first[7]!;
    const refused = first[20]!;
    server.rules([
      { match: flaky.messageId, reply: "451 4.3.0 archive busy, try again later", times: 2 },
      { match: refused.messageId, reply: "554 5.6.0 refused by policy: no archive takes this", times: -1 },
    ]);
    mesh.publish(first.slice(0, 18));
    // Through the real publish: a message without Message-ID (publish derives an id, the bytes stay as they are), and a list event.
    const anonymous: TestMessage = { list: "dev", messageId: "", body: Buffer.from("From: x@example.org\nTo: dev@lists.example.org\nSubject: no id\n\nnameless\n") };
    await mesh.publishCli([anonymous]);
    const event = await runCli(["publish", "--db", mesh.db, "--event"], { input: JSON.stringify({ type: "member-subscribed", list: "dev", id: "ev-1", address: "m@example.org" }) });
    expect(event.status, event.stderr).to.equal(0);
    mesh.publish(first.slice(18));
    await mesh.serve();
    const sub = subscribe(mesh, server);
    await mesh.waitAcked(["s"], mesh.head());

    const arrivals = server.arrivals();
    const delivered = [...first.slice(0, 18), anonymous, ...first.slice(18)].filter((m) => m !== refused);
    for (const m of delivered) expect(outcomes(arrivals, m).filter((o) => o === "stored"), m.messageId || "no Message-ID").to.have.length(1);
    expect(outcomes(arrivals, flaky), "4xx twice, then 250").to.deep.equal(["451 4.3.0 archive busy, try again later", "451 4.3.0 archive busy, try again later", "stored"]);
    expect(outcomes(arrivals, refused), "5xx on each of --exec-retries attempts").to.deep.equal(Array(2).fill("554 5.6.0 refused by policy: no archive takes this"));
    expect(arrivals, "every DATA accounted for: no event, nothing else").to.have.length(delivered.length + 2 + 2);
    expect(new Set(arrivals.map((a) => `${a.from} ${a.to.join(",")}`))).to.deep.equal(new Set([`${SENDER} ${ADDRESS}`]));
    expect(server.stored(ADDRESS).map((d) => d.toString("latin1")).find((d) => d.includes("nameless")), "stored without a Message-ID added").to.equal(smtpData(anonymous.body).toString("latin1"));
    const byList = storedByList(server);
    for (const list of LISTS) {
      const expected = delivered.filter((m) => m.list === list).map((m) => wireHash(m.body));
      expect(byList.get(list), `${list}: each once, byte-identical, in order`).to.deep.equal(expected);
    }

    const dead = JSON.parse((await runCli(["dead-letters", "--state", mesh.path("sub.db"), "list", "--json"])).stdout);
    expect(dead.map((d: { messageId: string; sink: string }) => [d.messageId, d.sink])).to.deep.equal([[refused.messageId, `smtp:${ADDRESS}`]]);
    expect(dead[0].error).to.contain("554 5.6.0 refused by policy: no archive takes this");

    // The server goes away: the subscriber waits, acknowledges nothing it could not store, and goes on when it is back.
    const head = mesh.head();
    await server.stop();
    const second = messages(12, 14);
    mesh.publish(second);
    await sub.waitForLog((l: LogLine) => l.msg === "temporary sink failure; will retry" && JSON.stringify(l.err).includes("ECONNREFUSED"), 60_000);
    expect(mesh.acked().get("s"), "nothing acknowledged while the server is down").to.equal(head);
    await server.restart();
    await mesh.waitAcked(["s"], mesh.head());
    const after = storedByList(server);
    for (const list of LISTS) {
      const expected = [...delivered, ...second].filter((m) => m.list === list).map((m) => wireHash(m.body));
      expect(after.get(list), `${list} after the outage`).to.deep.equal(expected);
    }
  });

  it("at least once: a subscriber killed after the server stored a message, before its commit, sends it again; an archive skipping known Message-IDs keeps one copy", async () => {
    const server = await SmtpTestServer.start({ dedupe: true });
    const mesh = await Mesh.create();
    await mesh.serve();
    const all = messages(0, 4);
    mesh.publish(all.slice(0, 6));
    let sub = subscribe(mesh, server);
    await mesh.waitAcked(["s"], 6);
    // The server stores the next message, then holds back its 250: the subscriber waits, and is killed there.
    const caught = all[6]!;
    server.rules([{ match: caught.messageId, hold: 120, times: 1 }]);
    mesh.publish(all.slice(6));
    await waitFor(() => outcomes(server.arrivals(), caught).length === 1, { timeoutMs: 60_000, what: "the server to store the held message" });
    await sub.kill9();
    sub = subscribe(mesh, server);
    await mesh.waitAcked(["s"], mesh.head());

    expect(outcomes(server.arrivals(), caught), "sent twice, the second skipped by the archive").to.deep.equal(["stored", "duplicate"]);
    for (const m of all.filter((m) => m !== caught)) expect(outcomes(server.arrivals(), m), m.messageId).to.deep.equal(["stored"]);
    const byList = storedByList(server);
    for (const list of LISTS) expect(byList.get(list), list).to.deep.equal(all.filter((m) => m.list === list).map((m) => wireHash(m.body)));
    expect(sub.alive).to.equal(true);
  });
});
