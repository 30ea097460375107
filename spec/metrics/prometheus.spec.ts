// The metrics endpoint as Prometheus sees it: a real Prometheus server
// scrapes a real `serve --metrics` and `subscribe --metrics`, loads the
// example alert rules, and shows a stopped peer's lag under its name; the
// daemons export every documented metric, with its type, and the example
// dashboard's queries find series in what they export.

import { expect } from "chai";
import { readFileSync } from "node:fs";
import { Daemon } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage } from "../helpers/messages.js";
import { freePortPair } from "../helpers/ports.js";
import { waitFor } from "../helpers/wait.js";
import { dashboardQueries, EXAMPLES, readDashboard, ruleExprs, withGrafanaVariables } from "./examples.js";
import { SERVE_METRICS, SUBSCRIBE_METRICS, type DocumentedMetric } from "./metric-names.js";
import { PrometheusServer, prometheusMissing, type Sample } from "./prometheus-server.js";

/** `# TYPE name type` of every metric a /metrics page exports. */
async function exportedTypes(endpoint: string): Promise<Map<string, string>> {
  const res = await fetch(`http://${endpoint}/metrics`);
  expect(res.status, `GET http://${endpoint}/metrics`).to.equal(200);
  const text = await res.text();
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

function expectExported(types: Map<string, string>, documented: readonly DocumentedMetric[], who: string): void {
  const wrong = documented.filter((m) => types.get(m.name) !== m.type).map((m) => `${m.name} (${m.type}): ${types.get(m.name) ?? "missing"}`);
  expect(wrong, `${who} exports every documented metric with its type`).to.deep.equal([]);
  const undocumented = [...types.keys()].filter((n) => n.startsWith("mq_archive_") && !documented.some((m) => m.name === n));
  expect(undocumented, `${who} exports no mq_archive_ metric the README does not document`).to.deep.equal([]);
}

function processState(pid: number): string {
  // /proc/PID/stat: "pid (comm) S ..."; comm may hold spaces, so read after the last ")".
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

function describeSamples(samples: readonly Sample[]): string {
  return samples.map((s) => `${JSON.stringify(s.metric)} ${s.value}`).join("; ") || "no series";
}

describe("metrics: a real Prometheus scraping serve and subscribe", function () {
  this.timeout(180_000);

  before(function () {
    const missing = prometheusMissing();
    if (missing) {
      console.warn(`\n  !!! SKIPPING the Prometheus server tests: ${missing}.\n`);
      this.skip();
    }
  });

  it("shows a stopped peer's lag under its name, loads the example alerts, and every dashboard query finds series", async () => {
    const mesh = await Mesh.create();
    const serveMetrics = `127.0.0.1:${await freePortPair()}`;
    const liveMetrics = `127.0.0.1:${await freePortPair()}`;
    const serve = await mesh.serve(["--metrics", serveMetrics, "--spool", mesh.path("spool")]);
    const live = mesh.subscribe("live.db", [`maildir:${mesh.path("live")}`], ["--name", "archive-live", "--metrics", liveMetrics]);
    const lagging: Daemon = mesh.subscribe("lagging.db", [`maildir:${mesh.path("lagging")}`], ["--name", "archive-lagging"]);

    const warmup = Array.from({ length: 3 }, (_, i) => makeMessage("dev", i));
    mesh.publish(warmup);
    await mesh.waitAcked(["archive-live", "archive-lagging"], mesh.head());
    const ackedBeforeStop = mesh.head();

    lagging.signal("SIGSTOP");
    await waitFor(() => processState(lagging.pid) === "T", { what: "the lagging subscriber to stop" });
    const backlog = Array.from({ length: 7 }, (_, i) => makeMessage("dev", 3 + i));
    mesh.publish(backlog);
    const head = mesh.head();
    await mesh.waitAcked(["archive-live"], head);
    expect(mesh.acked().get("archive-lagging"), "the stopped peer acknowledged nothing more").to.equal(ackedBeforeStop);

    const prometheus = await PrometheusServer.start(
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "rule_files:",
        `  - ${JSON.stringify(`${EXAMPLES}alerts.yml`)}`,
        "scrape_configs:",
        "  - job_name: mq-archive-serve",
        "    static_configs:",
        `      - targets: [${JSON.stringify(serveMetrics)}]`,
        "  - job_name: mq-archive-subscribe",
        "    static_configs:",
        `      - targets: [${JSON.stringify(liveMetrics)}]`,
        "",
      ].join("\n"),
    );
    try {
      // Both targets scraped.
      await waitFor(
        async () => {
          const up = await prometheus.query('up{job=~"mq-archive-serve|mq-archive-subscribe"}');
          if (up.length !== 2 || up.some((s) => s.value !== 1)) throw new Error(`${describeSamples(up)}; prometheus: ${prometheus.lastOutput()}`);
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: "both targets up" },
      );

      // The stopped peer's lag, under its name: every record published since it stopped.
      const lagOf = (peer: string, want: number) => async () => {
        const lag = await prometheus.query("mq_archive_peer_lag_records");
        const found = lag.find((s) => s.metric.peer === peer);
        if (found?.value !== want) throw new Error(`${peer}'s lag is not ${want}: ${describeSamples(lag)}`);
        return found;
      };
      const stopped = await waitFor(lagOf("archive-lagging", head - ackedBeforeStop), { timeoutMs: 30_000, intervalMs: 250, what: "the stopped peer's lag" });
      expect(stopped.value).to.be.greaterThan(0);
      expect(stopped.metric.job).to.equal("mq-archive-serve");
      expect(stopped.metric.instance).to.equal(serveMetrics);
      // The peer that keeps up shows no lag once its acknowledgements are in.
      await waitFor(lagOf("archive-live", 0), { timeoutMs: 30_000, intervalMs: 250, what: "the live peer's lag" });

      // The example alert rules load and evaluate against real series without error.
      const alertNames = ruleExprs(readFileSync(`${EXAMPLES}alerts.yml`, "utf8")).map((r) => r.alert);
      await waitFor(
        async () => {
          const rules = await prometheus.rules();
          const states = rules.map((r) => `${r.name}: ${r.health}${r.lastError ? ` (${r.lastError})` : ""}`);
          if (rules.length !== alertNames.length || rules.some((r) => r.health !== "ok")) throw new Error(states.join("; "));
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: `the ${alertNames.length} example rules loaded and healthy` },
      );

      // Every dashboard query runs and finds series, except counters that
      // only appear once something happened (no record was dead-lettered or
      // retried here).
      const rare = /\b(mq_archive_sink_dead_letters_total|mq_archive_sink_retries_total)\b/;
      const queries = dashboardQueries(readDashboard()).map((q) => ({ ...q, promql: withGrafanaVariables(q.expr, "10s") }));
      await waitFor(
        async () => {
          const empty: string[] = [];
          for (const q of queries) {
            if ((await prometheus.query(q.promql)).length === 0 && !rare.test(q.promql)) empty.push(`${q.where}: ${q.promql}`);
          }
          if (empty.length > 0) throw new Error(`no series for ${empty.join("; ")}`);
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 1000, what: "every dashboard query to find series" },
      );
    } finally {
      await prometheus.stop();
    }
    expect(serve.alive && live.alive).to.equal(true);
  });

  it("serve and subscribe export every documented metric with its type, and no undocumented one", async () => {
    const mesh = await Mesh.create();
    const serveMetrics = `127.0.0.1:${await freePortPair()}`;
    const subscribeMetrics = `127.0.0.1:${await freePortPair()}`;
    await mesh.serve(["--metrics", serveMetrics, "--spool", mesh.path("spool")]);
    mesh.subscribe("peer.db", [`maildir:${mesh.path("archive")}`], ["--name", "archive-1", "--metrics", subscribeMetrics]);
    mesh.publish([makeMessage("dev", 0)]);
    await mesh.waitAcked(["archive-1"], mesh.head());

    // Labelled series appear once a peer registered and a sink stored; wait for the publisher's view of the peer.
    const peerSeries = /^mq_archive_peer_lag_records\{[^}]*peer="archive-1"/m;
    await waitFor(async () => peerSeries.test(await (await fetch(`http://${serveMetrics}/metrics`)).text()), {
      what: "serve to export archive-1's lag",
    });
    expectExported(await exportedTypes(serveMetrics), SERVE_METRICS, "serve");
    expectExported(await exportedTypes(subscribeMetrics), SUBSCRIBE_METRICS, "subscribe");
  });
});
