// The watchdog's own process (see watchdog.ts). Reads "T <ms> <title>"
// (a test or hook began, with its timeout) and "E" (the run ended) on
// stdin; once a deadline passes, it names what was running, prints the
// test process's tree and kills it, so a stuck run fails in minutes and
// says where instead of hanging until CI's limit. Exits when stdin ends.

import { execFileSync } from "node:child_process";
import { createInterface } from "node:readline";

const parent = Number(process.argv[2]);
/** Past a test's own timeout: mocha fails it itself unless its event loop is blocked. */
const GRACE_MS = Number(process.env.MQA_WATCHDOG_GRACE_MS ?? 120_000);
/** From the run's end to the process's exit. */
const EXIT_MS = 60_000;

let title = "(before the first test)";
let startedAt = Date.now();
let deadline = Date.now() + 15 * 60_000;

createInterface({ input: process.stdin })
  .on("line", (line) => {
    startedAt = Date.now();
    if (line === "E") {
      title = "(the run had ended: the process did not exit)";
      deadline = startedAt + EXIT_MS;
      return;
    }
    const [, ms, text] = /^T (\d+) (.*)$/.exec(line) ?? [];
    if (text === undefined) return;
    title = text;
    deadline = startedAt + (Number(ms) > 0 ? Number(ms) : 30 * 60_000) + GRACE_MS;
  })
  .on("close", () => process.exit(0));

/** pid → ppid and command line of every process. */
function processes() {
  const out = execFileSync("ps", ["-e", "-o", "pid=,ppid=,etimes=,args="], { encoding: "utf8" });
  return out.split("\n").filter(Boolean).map((l) => {
    const [, pid, ppid, secs, args] = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(l) ?? [];
    return { pid: Number(pid), ppid: Number(ppid), secs: Number(secs), args };
  });
}

function descendants(all, root) {
  const out = [];
  const walk = (pid, depth) => {
    for (const p of all.filter((q) => q.ppid === pid && q.pid !== process.pid)) {
      out.push({ ...p, depth });
      walk(p.pid, depth + 1);
    }
  };
  walk(root, 1);
  return out;
}

setInterval(() => {
  if (Date.now() < deadline) return;
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  const lines = [`\n!!! WATCHDOG: stuck for ${seconds} s in: ${title}`, `!!! the test process (${parent}) and what it started:`];
  let tree = [];
  try {
    tree = descendants(processes(), parent);
    for (const p of tree) lines.push(`!!!   ${"  ".repeat(p.depth)}${p.pid} (${p.secs} s) ${p.args.slice(0, 200)}`);
  } catch (e) {
    lines.push(`!!!   (ps failed: ${e.message})`);
  }
  lines.push("!!! killing them: the run fails here instead of hanging");
  process.stderr.write(`${lines.join("\n")}\n`);
  for (const p of [...tree].reverse()) try { process.kill(p.pid, "SIGKILL"); } catch { /* gone */ }
  try { process.kill(parent, "SIGKILL"); } catch { /* gone */ }
  process.exit(1);
}, 5000);
