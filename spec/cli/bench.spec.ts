// `mq-archive bench` runs its processes and reports every figure (the
// figures themselves are for people, not for assertions).

import { expect } from "chai";
import { readFileSync } from "node:fs";
import { DAEMON_NODE_ARGS } from "../../lib/bench/orchestrator.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

describe("cli: bench", function () {
  this.timeout(60_000);

  for (const args of [["--sink", "maildir"], ["--rate", "500", "--secure", "--metrics"], ["--backlog", "--subscribers", "2"], ["--sink", `events:${tempDir("mqa-bench-events-")}`]]) {
    it(`reports a complete run with ${args.join(" ")}`, async () => {
      const r = await runCli(["bench", "--messages", "300", "--size", "2KB", "--json", ...args]);
      expect(r.status, r.stderr).to.equal(0);
      const report = JSON.parse(r.stdout);
      expect(report.messages).to.equal(300);
      expect(report.publishRate).to.be.above(0);
      expect(report.endToEndRate).to.be.above(0);
      expect(report.peakRssBytes.serve).to.be.above(0);
      expect(report.peakRssBytes.subscribers.every((b: number) => b > 0)).to.equal(true);
      const cpu = report.cpuMicrosPerMessage;
      const all: number[] = [cpu.serve, cpu.publisher, ...cpu.subscribers];
      expect(all.every((c) => Number.isFinite(c) && c >= 0), JSON.stringify(cpu)).to.equal(true);
      expect(all.reduce((a, b) => a + b)).to.be.above(0); // clock ticks are 10 ms: some process used one
      if (args.includes("--rate")) expect(report.latencyMs.samples).to.equal(300);
      if (args.includes("--backlog")) expect(report.catchUpRate).to.be.above(0);
      // 300 messages at 500/s take over half a second: at least serve and the subscriber answered once.
      if (args.includes("--metrics")) expect(report.metricsScrapes).to.be.at.least(2);
      else expect(report.metricsScrapes).to.equal(null);
    });
  }

  it("runs serve and the subscribers with the node options of the example systemd units", () => {
    for (const unit of ["mq-archive-serve.service", "mq-archive-subscribe.service"]) {
      const text = readFileSync(new URL(`../../examples/systemd/${unit}`, import.meta.url), "utf8");
      expect(text, unit).to.include(`\nEnvironment=NODE_OPTIONS=${DAEMON_NODE_ARGS.join(" ")}\n`);
    }
  });
});
