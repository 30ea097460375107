// Profile a benchmark run: `mq-archive bench` with every process under
// node --cpu-prof, then the top functions by self time for each process.
//
//   npm run bench:profile -- [mq-archive bench options, e.g. --messages 50000 --sink null]

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "./bin.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const dir = mkdtempSync(join(tmpdir(), "mqa-profile-"));
const run = spawnSync(process.execPath, [BIN, "bench", ...process.argv.slice(2)], {
  env: { ...process.env, MQA_BENCH_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${dir}` },
  stdio: ["ignore", "inherit", "inherit"],
});
if (run.status !== 0) process.exit(run.status ?? 1);

for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(node_modules|dist)\//, "$1/")}:${f.lineNumber + 1}` : "";
    const key = `${f.functionName || "(anonymous)"} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 15);
  process.stdout.write(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled\n`);
  for (const [name, us] of top) process.stdout.write(`  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}\n`);
}
process.stdout.write(`\nprofiles in ${dir} (open them in Chrome DevTools for the call trees)\n`);
