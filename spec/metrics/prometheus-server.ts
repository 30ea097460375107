// A real Prometheus server (Debian's /usr/bin/prometheus) for the metrics
// specs: started on a loopback port with a config the test writes, queried
// through its HTTP API, killed after each test that started one.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePortPair } from "../helpers/ports.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

export const PROMETHEUS = "/usr/bin/prometheus";

export function prometheusMissing(): string | null {
  return existsSync(PROMETHEUS) ? null : `${PROMETHEUS} is not installed (Debian: apt-get install prometheus)`;
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface RuleState {
  name: string;
  health: string;
  lastError?: string;
}

const running = new Set<PrometheusServer>();

export class PrometheusServer {
  private readonly output: string[] = [];
  private readonly exit: Promise<void>;

  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (d: Buffer) => this.output.push(...d.toString().split("\n").filter((l) => l !== ""));
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    this.exit = new Promise((resolve) => child.on("exit", () => resolve()));
    running.add(this);
  }

  /** Start it with `config` (YAML) as its configuration; resolves once it answers /-/ready. */
  static async start(config: string): Promise<PrometheusServer> {
    const dir = tempDir("mqa-prometheus-");
    const file = join(dir, "prometheus.yml");
    writeFileSync(file, config);
    const port = await freePortPair();
    const child = spawn(
      PROMETHEUS,
      [`--config.file=${file}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, child);
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${server.lastOutput()}`);
        return (await fetch(`${server.url}/-/ready`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "prometheus to be ready" },
    );
    return server;
  }

  lastOutput(lines = 10): string {
    return this.output.slice(-lines).join(" | ");
  }

  /** An instant query's vector. */
  async query(promql: string): Promise<Sample[]> {
    const body = await this.api(`/api/v1/query?query=${encodeURIComponent(promql)}`);
    const data = body.data as { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    if (data.resultType !== "vector") throw new Error(`${promql}: a ${data.resultType}, not a vector`);
    return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Every alerting and recording rule it loaded, with its health after the last evaluation. */
  async rules(): Promise<RuleState[]> {
    const body = await this.api("/api/v1/rules");
    const groups = (body.data as { groups: Array<{ rules: RuleState[] }> }).groups;
    return groups.flatMap((g) => g.rules);
  }

  private async api(path: string): Promise<Record<string, unknown>> {
    const res = await fetch(this.url + path);
    const body = (await res.json()) as Record<string, unknown>;
    if (body.status !== "success") throw new Error(`${path}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    return body;
  }

  async stop(): Promise<void> {
    running.delete(this);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exit;
  }
}

if (typeof afterEach === "function") afterEach(async () => {
  await Promise.all([...running].map((s) => s.stop()));
});
