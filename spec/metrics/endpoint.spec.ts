// The daemons' --metrics endpoint during a real run: serve and subscribe
// scraped over HTTP, the text checked by `promtool check metrics`, the values
// compared with `status --json`; /healthz of a subscriber whose publisher is
// killed and comes back; 404, and a non-loopback address refused.

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { runCli } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage } from "../helpers/messages.js";
import { freePortPair } from "../helpers/ports.js";
import { waitFor } from "../helpers/wait.js";
import { SYNC_CHILD } from "../helpers/sync-limit.js";

const PROMTOOL = "/usr/bin/promtool";

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/** The value of one series in Prometheus text (labels as written, e.g. `{peer="a"}`), or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function promtool(text: string): { ok: boolean; output: string } | null {
  const r = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8", ...SYNC_CHILD });
  if (r.error) return null;
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

describe("metrics: the daemons' --metrics endpoint", function () {
  this.timeout(120_000);

  it("serve and subscribe expose metrics promtool accepts, agreeing with status --json", async () => {
    const mesh = await Mesh.create();
    const servePort = await freePortPair();
    const subPort = await freePortPair();
    await mesh.serve(["--metrics", `127.0.0.1:${servePort}`]);
    mesh.subscribe("a.db", [`maildir:${mesh.path("maildir")}`, "exec:exit 3"], ["--name", "archive", "--metrics", `127.0.0.1:${subPort}`, "--exec-retries", "1", "--retry-max", "200ms"]);
    mesh.publish(Array.from({ length: 30 }, (_, i) => makeMessage("dev", i)));
    await mesh.waitAcked(["archive"], 30);

    // The subscriber counts its dead letters every few seconds (a scrape answers with the last count).
    const scrapeSub = () => get(`http://127.0.0.1:${subPort}/metrics`);
    await waitFor(async () => value((await scrapeSub()).body, "mq_archive_subscriber_dead_letters") === 30, { what: "30 dead letters counted" });
    const serve = await get(`http://127.0.0.1:${servePort}/metrics`);
    const sub = await scrapeSub();
    expect(serve.status).to.equal(200);
    expect(sub.status).to.equal(200);
    for (const [name, text] of [["serve", serve.body], ["subscribe", sub.body]] as const) {
      const checked = promtool(text);
      if (checked === null) console.warn(`\n  !!! NOT CHECKED with promtool: ${PROMTOOL} is missing (Debian's prometheus; .ci/run installs it).\n`);
      else expect(checked.ok, `${name}: ${checked.output}`).to.equal(true);
      expect(text, name).to.match(/^process_cpu_seconds_total /m).and.to.match(/^nodejs_eventloop_lag_seconds /m);
    }

    const status = JSON.parse((await runCli(["status", "--db", mesh.db, "--json"])).stdout);
    expect(value(serve.body, "mq_archive_outbox_head_seq")).to.equal(status.outbox.head).and.to.equal(30);
    expect(value(serve.body, "mq_archive_outbox_records")).to.equal(status.outbox.records);
    const peer = status.peers.find((p: { name: string }) => p.name === "archive");
    expect(value(serve.body, 'mq_archive_peer_acked_seq{peer="archive"}')).to.equal(peer.acked).and.to.equal(30);
    expect(value(serve.body, 'mq_archive_peer_lag_records{peer="archive"}')).to.equal(0);
    expect(value(serve.body, 'mq_archive_peer_connected{peer="archive"}')).to.equal(1);
    expect(value(serve.body, "mq_archive_records_committed_total")).to.equal(30);

    const state = JSON.parse((await runCli(["status", "--state", mesh.path("a.db"), "--json"])).stdout);
    expect(value(sub.body, "mq_archive_subscriber_position_seq")).to.equal(state.position).and.to.equal(30);
    expect(value(sub.body, "mq_archive_subscriber_dead_letters")).to.equal(state.deadLetters).and.to.equal(30);
    expect(value(sub.body, 'mq_archive_sink_records_stored_total{sink="maildir:' + mesh.path("maildir") + '",kind="message"}')).to.equal(30);
    expect(value(sub.body, 'mq_archive_sink_dead_letters_total{sink="exec:exit 3"}')).to.equal(30);
    expect(value(sub.body, 'mq_archive_sink_store_duration_seconds_count{sink="exec:exit 3"}')).to.be.greaterThan(0);
    expect(value(sub.body, "mq_archive_subscriber_connected")).to.equal(1);

    const health = await get(`http://127.0.0.1:${subPort}/healthz`);
    expect(health.status, health.body).to.equal(200);
    expect(JSON.parse(health.body)).to.include({ ok: true, position: 30 });
    expect((await get(`http://127.0.0.1:${servePort}/healthz`)).status).to.equal(200);
    const other = await get(`http://127.0.0.1:${servePort}/other`);
    expect(other.status).to.equal(404);
  });

  it("/healthz turns 503 when the subscriber's publisher is killed, and 200 when it is back", async () => {
    const mesh = await Mesh.create();
    const subPort = await freePortPair();
    let serve = await mesh.serve();
    mesh.subscribe("a.db", [`maildir:${mesh.path("maildir")}`], ["--name", "archive", "--metrics", `127.0.0.1:${subPort}`]);
    const health = async () => {
      const r = await get(`http://127.0.0.1:${subPort}/healthz`);
      return { status: r.status, body: JSON.parse(r.body) as { ok: boolean; reason?: string } };
    };
    await waitFor(async () => (await health().catch(() => null))?.status === 200, { what: "healthy" });
    serve.signal("SIGKILL");
    await serve.waitExit();
    await waitFor(async () => (await health()).status === 503, { timeoutMs: 30_000, what: "503 after the publisher died" });
    expect((await health()).body.reason).to.match(/^no session with the publisher for \d+ s$/);
    serve = await mesh.serve();
    await waitFor(async () => (await health()).status === 200, { timeoutMs: 30_000, what: "200 once it is back" });
  });

  it("/healthz turns 503 while a sink is paused on a temporary failure longer than --retry-max", async () => {
    const mesh = await Mesh.create();
    const subPort = await freePortPair();
    await mesh.serve();
    const flag = mesh.path("archive-up");
    mesh.subscribe("a.db", [`exec:[ -e ${flag} ] || exit 75`], ["--name", "archive", "--metrics", `127.0.0.1:${subPort}`, "--retry-max", "300ms"]);
    mesh.publish([makeMessage("dev", 0)]);
    const health = async () => {
      const r = await get(`http://127.0.0.1:${subPort}/healthz`).catch(() => null);
      return r === null ? null : { status: r.status, body: JSON.parse(r.body) as { ok: boolean; reason?: string } };
    };
    await waitFor(async () => (await health())?.status === 503, { timeoutMs: 30_000, what: "503 while the sink is paused" });
    expect((await health())!.body.reason).to.match(/^sink exec:\S.* has been paused on a temporary failure for \d+ s$/);
    writeFileSync(flag, "");
    await mesh.waitAcked(["archive"], 1);
    await waitFor(async () => (await health())?.status === 200, { timeoutMs: 30_000, what: "200 once it stores again" });
  });

  it("refuses a non-loopback address without --metrics-remote, and a malformed one", async () => {
    const mesh = await Mesh.create();
    const remote = await runCli(["serve", "--insecure", "--db", mesh.db, "--bind", mesh.endpoint, "--metrics", "0.0.0.0:9580"]);
    expect(remote.status).to.equal(64);
    expect(remote.stderr).to.contain("not a loopback address: add --metrics-remote");
    const bad = await runCli(["subscribe", "--insecure", "--connect", mesh.endpoint, "--state", mesh.path("s.db"), "--sink", "null", "--metrics", "9580"]);
    expect(bad.status).to.equal(64);
    expect(bad.stderr).to.contain('--metrics "9580" is not HOST:PORT');
  });
});
