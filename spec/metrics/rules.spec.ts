// The example Prometheus files (examples/prometheus) with the real promtool:
// the alert rules and the scrape config load, the rules' unit tests pass,
// and the alerts and the Grafana dashboard read only documented metrics
// (so renaming a metric without updating the examples fails here).

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/tmp.js";
import { allPanels, dashboardQueries, EXAMPLES, promtoolMissing, readDashboard, ruleExprs, withGrafanaVariables } from "./examples.js";
import { metricNamesIn, queryableNames } from "./metric-names.js";
import { skipWhenMissing } from "../helpers/skip.js";
import { SYNC_CHILD } from "../helpers/sync-limit.js";

function promtool(args: string[], cwd = EXAMPLES): void {
  const r = spawnSync("promtool", args, { cwd, encoding: "utf8", ...SYNC_CHILD });
  const output = `$ promtool ${args.join(" ")} (in ${cwd})\n${r.stdout}${r.stderr}`;
  expect(r.error, output).to.equal(undefined);
  expect(r.status, output).to.equal(0);
}

describe("examples/prometheus with promtool", function () {
  this.timeout(60_000);

  before(function () {
    skipWhenMissing(this, "the promtool checks of examples/prometheus", promtoolMissing());
  });

  it("the alert rules load", () => {
    promtool(["check", "rules", "alerts.yml"]);
  });

  it("the scrape config loads, with the rule file it names", () => {
    // rule_files is relative to the config's directory.
    promtool(["check", "config", "prometheus.yml"]);
    const config = readFileSync(join(EXAMPLES, "prometheus.yml"), "utf8");
    expect(config).to.match(/job_name: mq-archive-serve\n/);
    expect(config).to.match(/job_name: mq-archive-subscribe\n/);
  });

  it("the alert rules pass their unit tests, one firing and one quiet case for each alert", () => {
    promtool(["test", "rules", "alerts.test.yml"]);
    const alerts = ruleExprs(readFileSync(join(EXAMPLES, "alerts.yml"), "utf8")).map((r) => r.alert);
    const tests = readFileSync(join(EXAMPLES, "alerts.test.yml"), "utf8");
    for (const alert of alerts) {
      const cases = tests.split(/\n\s*- eval_time:/).filter((c) => new RegExp(`^[^\\n]*\\n\\s*alertname: ${alert}\\n`).test(c));
      const quiet = cases.filter((c) => /exp_alerts: \[\]/.test(c));
      expect(cases.length - quiet.length, `${alert}: cases where it fires`).to.be.greaterThan(0);
      expect(quiet.length, `${alert}: cases where it does not fire`).to.be.greaterThan(0);
    }
  });

  it("the Grafana dashboard's queries are valid PromQL", () => {
    // promtool checks a recording rule's expression with Prometheus's parser.
    const queries = dashboardQueries(readDashboard());
    const rules = queries.map((q, i) => ({ record: `mq_archive_dashboard_check:q${i}`, expr: withGrafanaVariables(q.expr) }));
    const dir = tempDir("mqa-dashboard-");
    // JSON is YAML, so promtool reads this as a rules file.
    writeFileSync(join(dir, "dashboard-rules.yml"), JSON.stringify({ groups: [{ name: "dashboard", rules }] }, null, 2));
    promtool(["check", "rules", "dashboard-rules.yml"], dir);
  });
});

describe("examples/prometheus: what the alerts and the dashboard read", () => {
  it("the alert rules read only documented metrics", async () => {
    const known = await queryableNames();
    const rules = ruleExprs(readFileSync(join(EXAMPLES, "alerts.yml"), "utf8"));
    expect(rules.length).to.equal((readFileSync(join(EXAMPLES, "alerts.yml"), "utf8").match(/^\s*- alert:/gm) ?? []).length);
    for (const { alert, expr } of rules) {
      const names = metricNamesIn(expr);
      expect(names, `${alert}: ${expr}`).to.not.be.empty;
      for (const name of names) expect(known.has(name), `${alert} reads ${name}, which is not documented: ${expr}`).to.equal(true);
    }
  });

  it("the Grafana dashboard imports as a dashboard with a Prometheus datasource variable", () => {
    const dashboard = readDashboard();
    expect(dashboard.uid).to.be.a("string");
    expect(dashboard.title).to.be.a("string");
    expect(dashboard.schemaVersion).to.be.a("number");
    const datasource = dashboard.templating?.list?.find((v) => v.type === "datasource");
    expect(datasource, "a variable of type datasource").to.not.equal(undefined);
    expect((datasource as { query?: unknown }).query).to.equal("prometheus");
    const uid = `\${${datasource!.name}}`;
    for (const panel of allPanels(dashboard.panels).filter((p) => p.type !== "row")) {
      expect(panel.datasource?.uid, `panel "${panel.title}" uses the variable`).to.equal(uid);
      expect(panel.targets, `panel "${panel.title}" has queries`).to.not.be.empty;
      for (const t of panel.targets ?? []) expect(t.datasource?.uid, `panel "${panel.title}" ${t.refId}`).to.equal(uid);
    }
  });

  it("the Grafana dashboard shows what the README promises, from documented metrics only", async () => {
    const known = await queryableNames();
    const queries = dashboardQueries(readDashboard());
    const read = new Set<string>();
    for (const { where, expr } of queries) {
      const names = metricNamesIn(expr);
      expect(names, `${where}: ${expr}`).to.not.be.empty;
      for (const name of names) {
        expect(known.has(name), `${where} reads ${name}, which is not documented: ${expr}`).to.equal(true);
        read.add(name);
      }
    }
    const all = queries.map((q) => q.expr).join("\n");
    expect(all).to.match(/rate\(mq_archive_records_committed_total\b/);
    expect(all).to.match(/histogram_quantile\([^,]+,[^\n]*mq_archive_sink_store_duration_seconds_bucket/);
    for (const name of [
      "mq_archive_peer_lag_records",
      "mq_archive_peer_oldest_unacked_age_seconds",
      "mq_archive_peer_dead_letters",
      "mq_archive_sink_dead_letters_total",
      "mq_archive_spool_waiting_files",
    ]) {
      expect(read.has(name), `the dashboard shows ${name}`).to.equal(true);
    }
  });
});

describe("metricNamesIn", () => {
  it("finds the metrics and skips functions, labels, ranges, strings and Grafana variables", () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, sink) (rate(a_bucket{instance=~"$x", sink!="b_total"}[$__rate_interval]))) ' +
          "/ on (instance) group_left(peer) c_gauge offset 5m > bool 1e3 and ignoring(job) d unless sum(e) without (f)",
      ),
    ).to.deep.equal(["a_bucket", "c_gauge", "d", "e"]);
  });
});
