// The example Prometheus files (examples/prometheus) as the metrics specs
// read them: where they are, whether promtool is here, the expressions the
// alert rules and the Grafana dashboard run.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SYNC_CHILD } from "../helpers/sync-limit.js";

export const EXAMPLES = fileURLToPath(new URL("../../examples/prometheus/", import.meta.url));

/** promtool on PATH, or null with why not. */
export function promtoolMissing(): string | null {
  const r = spawnSync("promtool", ["--version"], { encoding: "utf8", ...SYNC_CHILD });
  return r.error === undefined && r.status === 0 ? null : "promtool is not installed (Debian: apt-get install prometheus)";
}

/** The `expr` of every rule in a rules file we write ourselves: one line, or a `>-` block below it. */
export function ruleExprs(yaml: string): Array<{ alert: string; expr: string }> {
  const out: Array<{ alert: string; expr: string }> = [];
  const lines = yaml.split("\n");
  let alert = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const named = /^\s*- alert:\s*(\S+)/.exec(line);
    if (named) alert = named[1] ?? "";
    const expr = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!expr) continue;
    const [indent, value] = [(expr[1] ?? "").length, expr[2] ?? ""];
    if (!/^[>|]/.test(value)) {
      out.push({ alert, expr: value });
      continue;
    }
    const body: string[] = [];
    while (i + 1 < lines.length && (/^\s*$/.test(lines[i + 1] ?? "") || /^\s*/.exec(lines[i + 1] ?? "")![0].length > indent)) {
      body.push((lines[++i] ?? "").trim());
    }
    out.push({ alert, expr: body.join(" ").trim() });
  }
  return out;
}

export interface DashboardQuery {
  where: string;
  expr: string;
}

export interface Panel {
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Array<{ expr?: string; refId?: string; datasource?: { type?: string; uid?: string } }>;
  panels?: Panel[];
}

export interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Array<{ name?: string; type?: string; query?: unknown; datasource?: { uid?: string } }> };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(join(EXAMPLES, "grafana-dashboard.json"), "utf8")) as Dashboard;
}

export function allPanels(panels: readonly Panel[] = []): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels)]);
}

/** Every PromQL expression the dashboard runs: panel targets and query variables (label_values(EXPR, LABEL) as EXPR). */
export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    for (const t of panel.targets ?? []) {
      if (t.expr !== undefined) out.push({ where: `panel "${panel.title}" ${t.refId}`, expr: t.expr });
    }
  }
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== "query") continue;
    const q = typeof v.query === "string" ? v.query : (v.query as { query?: string } | undefined)?.query ?? "";
    const labelValues = /^label_values\((.*),\s*[A-Za-z_]\w*\s*\)$/.exec(q.trim());
    out.push({ where: `variable $${v.name}`, expr: labelValues ? labelValues[1]! : q });
  }
  return out;
}

/** Grafana's variables replaced by values Prometheus accepts, to check the syntax. */
export function withGrafanaVariables(expr: string, rateInterval = "1m"): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, rateInterval).replace(/\$\{?\w+\}?/g, ".*");
}
