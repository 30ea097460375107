// `mq-archive publish` of one message as a cold process, against `node -e 0`,
// alternating, median of --runs each (default 20).
//
//   npm run bench:cold-publish -- [--runs 20]

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median } from "../lib/bench/stats.js";
import { BIN } from "./bin.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
const dir = mkdtempSync(join(tmpdir(), "mqa-cold-"));
const db = join(dir, "outbox.db");

/** Wall time of one run of `command` (the executable itself runs through its shebang line, as Mailman runs it). */
function wall(command: string, args: string[], input?: string): number {
  const start = performance.now();
  const r = spawnSync(command, args, { input, stdio: ["pipe", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}`);
  return performance.now() - start;
}

try {
  wall(BIN, ["publish", "--db", db, "--list", "warmup"], "From: a@b\nMessage-ID: <warmup@x>\n\nx\n");
  const node: number[] = [];
  const publish: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    node.push(wall(process.execPath, ["-e", "0"]));
    const file = join(dir, "m.eml");
    writeFileSync(file, `From: a@b\nSubject: cold ${i}\nMessage-ID: <cold-${i}@x>\n\n${"x".repeat(10_000)}\n`);
    publish.push(wall(BIN, ["publish", "--db", db, "--list", "dev", file]));
  }
  const n = median(node);
  const p = median(publish);
  process.stdout.write(`node -e 0: median ${n.toFixed(1)} ms; mq-archive publish (10 KB, fsync'd): median ${p.toFixed(1)} ms; ratio ${(p / n).toFixed(2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
