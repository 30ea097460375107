// Issue 17, start points: a peer with no state chooses where it starts
// (`subscribe --start all|new|seq:N|time:ISO-8601`), records the choice, and
// resumes from its position afterwards whatever --start says. Real `serve`
// and `subscribe` processes on loopback, maildir sinks, real outbox files.

import Database from "better-sqlite3";
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { runCli, type Daemon } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage, readMaildirArchive } from "../helpers/messages.js";
import { waitFor } from "../helpers/wait.js";

const DEC_1 = "2026-12-01T00:00:00Z";
const before = Date.parse("2026-11-15T00:00:00Z");
const after = Date.parse("2026-12-02T00:00:00Z");

/**
 * Set records' received_at (ms) by seq: the test's own connection, before
 * `serve` runs. The outbox stamps the clock at append; a test needs a past.
 */
function stamp(mesh: Mesh, times: Record<number, number>): void {
  const db = new Database(mesh.db);
  try {
    const update = db.prepare("UPDATE records SET received_at = ? WHERE seq = ?");
    for (const [seq, at] of Object.entries(times)) update.run(at, Number(seq));
  } finally {
    db.close();
  }
}

function archived(mesh: Mesh, dir: string): number[] {
  return readMaildirArchive(mesh.path(dir), "dev").map((m) => m.seq);
}

async function subscriberStatus(mesh: Mesh, state: string): Promise<{ position: number; start: { start: string; position: number } | null; text: string }> {
  const json = await runCli(["status", "--state", mesh.path(state), "--json"]);
  expect(json.status, json.stderr).to.equal(0);
  const text = await runCli(["status", "--state", mesh.path(state)]);
  return { ...(JSON.parse(json.stdout) as { position: number; start: { start: string; position: number } | null }), text: text.stdout };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("e2e: start points (subscribe --start)", function () {
  this.timeout(60_000);

  it("all, new, seq:N and time:… each deliver exactly the records after where they resolve", async () => {
    const mesh = await Mesh.create();
    mesh.publish(range(1, 10).map((i) => makeMessage("dev", i)));
    // Seq order follows received_at only closely: seq 5 was stamped before Dec 1 but
    // committed after seq 4. The rule starts after the lowest seq received at or after
    // the time (4), so 5 is delivered, never skipped.
    stamp(mesh, { 1: before, 2: before, 3: before, 4: after, 5: before, 6: after, 7: after, 8: after, 9: after, 10: after });
    const serve = await mesh.serve(["--heartbeat", "200ms"]);
    const peers: Array<[string, string]> = [["all", "all"], ["new", "new"], ["seq", "seq:7"], ["time", `time:${DEC_1}`]];
    const subs = new Map<string, Daemon>();
    for (const [name, start] of peers) {
      subs.set(name, mesh.subscribe(`${name}.db`, [`maildir:${mesh.path(name)}`], ["--name", name, "--start", start]));
    }
    for (const sub of subs.values()) await sub.waitForLog("first session: starting after the start point's position");
    // The skipped records count as acknowledged: `new` holds back no pruning, having received nothing.
    await mesh.waitAcked(["all", "new", "seq", "time"], 10);
    expect(archived(mesh, "new")).to.deep.equal([]);

    mesh.publish([makeMessage("dev", 11), makeMessage("dev", 12)]);
    await mesh.waitAcked(["all", "new", "seq", "time"], 12);
    expect(archived(mesh, "all")).to.deep.equal(range(1, 12));
    expect(archived(mesh, "new")).to.deep.equal([11, 12]);
    expect(archived(mesh, "seq")).to.deep.equal(range(7, 12));
    expect(archived(mesh, "time")).to.deep.equal(range(4, 12));

    for (const sub of subs.values()) expect((await sub.stop()).code).to.equal(0);
    await serve.stop();
    const expected: Array<[string, string, number]> = [["all", "all", 0], ["new", "new", 10], ["seq", "seq:7", 6], ["time", "time:2026-12-01T00:00:00.000Z", 3]];
    for (const [name, start, position] of expected) {
      const status = await subscriberStatus(mesh, `${name}.db`);
      expect(status.start, name).to.deep.equal({ start, position });
      expect(status.position, name).to.equal(12);
      expect(status.text).to.include(`started: ${start}, after seq ${position}`);
    }
  });

  it("a time after every record is like new; a seq past the head starts at the head", async () => {
    const mesh = await Mesh.create();
    mesh.publish(range(1, 3).map((i) => makeMessage("dev", i)));
    stamp(mesh, { 1: before, 2: before, 3: before });
    await mesh.serve(["--heartbeat", "200ms"]);
    const late = mesh.subscribe("late.db", [`maildir:${mesh.path("late")}`], ["--name", "late", "--start", `time:${DEC_1}`]);
    const far = mesh.subscribe("far.db", [`maildir:${mesh.path("far")}`], ["--name", "far", "--start", "seq:1000"]);
    await late.waitForLog("first session: starting after the start point's position");
    await far.waitForLog("first session: starting after the start point's position");
    mesh.publish([makeMessage("dev", 4)]);
    await mesh.waitAcked(["late", "far"], 4);
    expect(archived(mesh, "late")).to.deep.equal([4]);
    expect(archived(mesh, "far")).to.deep.equal([4]);
  });

  it("a restart resumes from the position: --start is not applied again, and another value moves nothing", async () => {
    const mesh = await Mesh.create();
    mesh.publish(range(1, 5).map((i) => makeMessage("dev", i)));
    await mesh.serve(["--heartbeat", "200ms"]);
    const sinks = [`maildir:${mesh.path("a")}`];
    const first = mesh.subscribe("a.db", sinks, ["--name", "a", "--start", "seq:3"]);
    await mesh.waitAcked(["a"], 5);
    expect((await first.stop()).code).to.equal(0);

    mesh.publish([makeMessage("dev", 6), makeMessage("dev", 7)]);
    const again = mesh.subscribe("a.db", sinks, ["--name", "a", "--start", "all"]);
    const ignored = await again.waitForLog((l) => /--start applies only to a peer with no state/.test(String(l.msg)));
    expect(ignored).to.include({ start: "all", recorded: "seq:3", position: 5 });
    await mesh.waitAcked(["a"], 7);
    expect(archived(mesh, "a")).to.deep.equal(range(3, 7));
    expect(again.logs.some((l) => l.msg === "first session: starting after the start point's position")).to.equal(false);
    expect((await again.stop()).code).to.equal(0);

    // The same choice again, or none, says nothing.
    const quiet = mesh.subscribe("a.db", sinks, ["--name", "a", "--start", "seq:3"]);
    await quiet.waitForLog("session with the publisher started");
    expect(quiet.logs.some((l) => /--start applies only/.test(String(l.msg)))).to.equal(false);
    expect((await quiet.stop()).code).to.equal(0);
    expect((await subscriberStatus(mesh, "a.db")).start).to.deep.equal({ start: "seq:3", position: 2 });
  });

  it("refuses a value that is no start point with exit 64, naming the accepted forms (command line and config file)", async () => {
    const mesh = await Mesh.create();
    const base = ["subscribe", "--insecure", "--connect", mesh.endpoint, "--state", mesh.path("s.db"), "--sink", "null"];
    for (const start of ["yesterday", "seq:0", "seq:-1", "time:not-a-date"]) {
      const r = await runCli([...base, `--start=${start}`]);
      expect(r.status, `${start}: ${r.stderr}`).to.equal(64);
      expect(r.stderr).to.include("all, new, seq:N (N a positive integer) or time:ISO-8601");
    }
    const config = mesh.path("config.json");
    writeFileSync(config, JSON.stringify({ start: "seq:0" }));
    const r = await runCli([...base, "--config", config]);
    expect(r.status, r.stderr).to.equal(64);
    expect(r.stderr).to.include("--start");
  });
});
