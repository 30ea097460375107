// Issue 17, Verify: `mq-archive verify` finds a message file deleted from a
// maildir, an mbox truncated by hand and a state restored from an older
// copy; --repair fixes what is still retained; a second verify exits 0.
// Real serve, subscribe and verify processes on loopback.

import { expect } from "chai";
import Database from "better-sqlite3";
import { copyFileSync, existsSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { compareArchive, makeMessage, readMaildirArchive, readMboxArchive, type TestMessage } from "../helpers/messages.js";

function verifyArgs(mesh: Mesh, state: string, extra: string[] = []): string[] {
  return ["verify", "--insecure", "--connect", mesh.endpoint, "--state", mesh.path(state), ...extra];
}

function messages(from: number, n: number): TestMessage[] {
  return Array.from({ length: n }, (_, i) => makeMessage((from + i) % 3 === 0 ? "ops" : "dev", from + i, 600));
}

const maildirOf = (mesh: Mesh) => `maildir:${mesh.path("md")}`;
const mboxOf = (mesh: Mesh) => `mbox:${mesh.path("mb")}`;

/** A serve (with `serveArgs`) and a subscriber "a" that archived `all` into `sinks`, then stopped. */
async function archivedPeer(sinks: Array<(mesh: Mesh) => string>, all: readonly TestMessage[], serveArgs = ["--retain", "1h"]) {
  const mesh = await Mesh.create();
  const serve = await mesh.serve(serveArgs);
  const sub = mesh.subscribe("a.db", sinks.map((s) => s(mesh)), ["--name", "a"]);
  mesh.publish(all);
  await mesh.waitAcked(["a"], all.length);
  await sub.stop();
  return { mesh, serve };
}

describe("e2e: verify", function () {
  this.timeout(60_000);

  it("finds a maildir file deleted and an mbox truncated by hand; --repair restores them; verify then exits 0", async () => {
    const all = messages(0, 30);
    const { mesh } = await archivedPeer([maildirOf, mboxOf], all);
    const maildir = maildirOf(mesh);
    const mbox = mboxOf(mesh);

    const clean = await runCli(verifyArgs(mesh, "a.db", ["--sink", maildir, "--sink", mbox]));
    expect(clean.status, clean.stdout + clean.stderr).to.equal(0);
    expect(clean.stdout).to.match(/agrees/);

    const devNew = join(mesh.path("md"), "dev", "new");
    const victim = readdirSync(devNew).sort()[3]!;
    unlinkSync(join(devNew, victim));
    const opsMbox = join(mesh.path("mb"), "ops.mbox");
    truncateSync(opsMbox, Math.floor(statSync(opsMbox).size / 2));

    const found = await runCli(verifyArgs(mesh, "a.db", ["--sink", maildir, "--sink", mbox, "--json"]));
    expect(found.status, found.stderr).to.equal(1);
    const report = JSON.parse(found.stdout) as { lost: Array<{ list: string; seq: number; sink: string }>; agrees: boolean };
    const seqOf = Number(/_(\d+)\.mq-archive/.exec(victim)![1]);
    expect(report.lost.filter((l) => l.sink === maildir)).to.deep.equal([{ list: "dev", seq: seqOf, sink: maildir }]);
    const opsLost = report.lost.filter((l) => l.sink === mbox);
    expect(opsLost.length).to.be.greaterThan(2);
    expect(opsLost.every((l) => l.list === "ops")).to.equal(true);

    const repaired = await runCli(verifyArgs(mesh, "a.db", ["--sink", maildir, "--sink", mbox, "--repair"]));
    expect(repaired.status, repaired.stdout + repaired.stderr).to.equal(0);
    expect(repaired.stdout).to.match(/repaired/);

    const again = await runCli(verifyArgs(mesh, "a.db", ["--sink", maildir, "--sink", mbox]));
    expect(again.status, again.stdout + again.stderr).to.equal(0);
    const dev = all.filter((m) => m.list === "dev");
    expect(compareArchive(dev, readMaildirArchive(mesh.path("md"), "dev").map((f) => f.body))).to.deep.include({ missing: [], duplicated: [] });
    const ops = all.filter((m) => m.list === "ops");
    expect(compareArchive(ops, await readMboxArchive(mesh.path("mb"), "ops"))).to.deep.include({ missing: [], duplicated: [] });
  });

  it("finds a state restored from an older copy; --repair records what the sink still holds and fetches what it lost", async () => {
    const first = messages(0, 10);
    const { mesh } = await archivedPeer([maildirOf], first);
    const maildir = maildirOf(mesh);
    for (const f of ["a.db", "a.db-wal", "a.db-shm"]) if (existsSync(mesh.path(f))) copyFileSync(mesh.path(f), mesh.path(`old-${f}`));

    const sub = mesh.subscribe("a.db", [maildir], ["--name", "a"]);
    mesh.publish(messages(10, 10));
    await mesh.waitAcked(["a"], 20);
    await sub.stop();
    for (const f of ["a.db", "a.db-wal", "a.db-shm"]) {
      rmSync(mesh.path(f), { force: true });
      if (existsSync(mesh.path(`old-${f}`))) copyFileSync(mesh.path(`old-${f}`), mesh.path(f));
    }
    // And the disk lost one of the newer messages too.
    const newer = readMaildirArchive(mesh.path("md"), "dev").find((f) => f.seq > 10)!;
    const lostName = readdirSync(join(mesh.path("md"), "dev", "new")).find((n) => n.includes(`_${newer.seq}.`))!;
    unlinkSync(join(mesh.path("md"), "dev", "new", lostName));

    const found = await runCli(verifyArgs(mesh, "a.db", ["--json"]));
    expect(found.status, found.stderr).to.equal(1);
    const report = JSON.parse(found.stdout) as { position: number; acked: number; differences: Array<{ missing: Array<{ seq: number; messageId: string }> }> };
    expect(report).to.deep.include({ position: 10, acked: 20 });
    const missing = report.differences.flatMap((d) => d.missing.map((m) => m.seq)).sort((a, b) => a - b);
    expect(missing).to.deep.equal([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    const text = await runCli(verifyArgs(mesh, "a.db"));
    expect(text.stdout).to.match(/restored from an older copy/);

    const repaired = await runCli(verifyArgs(mesh, "a.db", ["--sink", maildir, "--repair"]));
    expect(repaired.status, repaired.stdout + repaired.stderr).to.equal(0);
    const again = await runCli(verifyArgs(mesh, "a.db", ["--sink", maildir]));
    expect(again.status, again.stdout + again.stderr).to.equal(0);
    const files = readMaildirArchive(mesh.path("md"), "dev");
    expect(files.some((f) => f.seq === newer.seq)).to.equal(true);
    expect(new Set(files.map((f) => f.seq)).size).to.equal(files.length);
  });

  it("records the state forgot in a crash (its last archived group) are found; --repair records them without storing twice", async () => {
    const all = messages(0, 12);
    const { mesh } = await archivedPeer([mboxOf], all);
    const mbox = mboxOf(mesh);
    // What a kill -9 within the 250 ms group window leaves: stored, the position moved, the entries not written
    // (nor their running totals: the same transaction writes both, and the rows up to seq 9 do not count them).
    const db = new Database(mesh.path("a.db"));
    db.prepare("DELETE FROM archived WHERE seq > 9").run();
    db.prepare("DELETE FROM archived_sums WHERE seq > 9").run();
    db.close();

    const found = await runCli(verifyArgs(mesh, "a.db", ["--json"]));
    expect(found.status, found.stderr).to.equal(1);
    const report = JSON.parse(found.stdout) as { differences: Array<{ missing: Array<{ seq: number }> }> };
    expect(report.differences.flatMap((d) => d.missing.map((m) => m.seq)).sort((a, b) => a - b)).to.deep.equal([10, 11, 12]);
    const withSink = await runCli(verifyArgs(mesh, "a.db", ["--sink", mbox]));
    expect(withSink.stdout).to.match(/holds \d+ messages the state does not record/);

    const repaired = await runCli(verifyArgs(mesh, "a.db", ["--sink", mbox, "--repair"]));
    expect(repaired.status, repaired.stdout + repaired.stderr).to.equal(0);
    expect((await runCli(verifyArgs(mesh, "a.db", ["--sink", mbox]))).status).to.equal(0);
    for (const list of ["dev", "ops"]) {
      const got = await readMboxArchive(mesh.path("mb"), list);
      expect(compareArchive(all.filter((m) => m.list === list), got)).to.deep.include({ missing: [], duplicated: [] });
    }
  });

  it("runs beside the peer's running subscribe with its key: neither session ends the other, and --lists leaves the peer's lists alone", async () => {
    const mesh = await Mesh.create();
    const serve = await mesh.serve(["--retain", "1h"]);
    const sub = mesh.subscribe("a.db", [maildirOf(mesh)], ["--name", "a"]);
    const first = messages(0, 20);
    mesh.publish(first);
    await mesh.waitAcked(["a"], first.length);
    const ended = () => serve.logs.filter((l) => String(l.msg).startsWith("peer session ended")).length;
    const before = ended();

    const r = await runCli(verifyArgs(mesh, "a.db", ["--lists", "dev", "--sink", maildirOf(mesh)]));
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/1 lists compared/);
    await serve.waitForLog("verify session started");

    const more = messages(20, 10);
    mesh.publish(more);
    await mesh.waitAcked(["a"], first.length + more.length);
    expect(ended(), "the subscriber's session was not replaced").to.equal(before);
    expect(sub.logs.filter((l) => l.msg === "subscriber started"), "nor restarted").to.have.length(1);
    const status = JSON.parse((await runCli(["status", "--db", mesh.db, "--json"])).stdout) as { peers: Array<{ name: string; lists: unknown }> };
    expect(status.peers.find((p) => p.name === "a")?.lists, "the peer's lists, not verify's").to.equal(null);
    const all = [...first, ...more].filter((m) => m.list === "dev");
    expect(compareArchive(all, readMaildirArchive(mesh.path("md"), "dev").map((f) => f.body))).to.deep.include({ missing: [], duplicated: [] });
  });

  it("names records pruned everywhere as unrecoverable from this outbox", async () => {
    const { mesh, serve } = await archivedPeer([maildirOf], messages(0, 6), ["--retain", "0s"]);
    const maildir = maildirOf(mesh);
    await serve.waitForLog((l) => /pruned/.test(String(l.msg)));
    const name = readdirSync(join(mesh.path("md"), "dev", "new")).sort()[0]!;
    unlinkSync(join(mesh.path("md"), "dev", "new", name));
    const seq = Number(/_(\d+)\.mq-archive/.exec(name)![1]);

    const r = await runCli(verifyArgs(mesh, "a.db", ["--sink", maildir, "--repair"]));
    expect(r.status, r.stdout + r.stderr).to.equal(1);
    expect(r.stdout).to.include(`unrecoverable from this outbox: list dev seq ${seq}`);
  });
});
