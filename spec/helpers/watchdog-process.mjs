// The watchdog's own process (see watchdog.ts). Reads "T <ms> <title>"
// (a test or hook began, with its timeout) and "E" (the run ended: it
// notes what the test process still runs, answers "ok", and kills those
// once the test process has exited) on stdin; once a deadline passes, it names what was running, prints the
// test process's tree and kills it, so a stuck run fails in minutes and
// says where instead of hanging until CI's limit. Exits when stdin ends.

import { execFileSync } from "node:child_process";
import { createInterface } from "node:readline";

const parent = Number(process.argv[2]);
/** Past a test's own timeout: mocha fails it itself unless its event loop is blocked. */
const GRACE_MS = Number(process.env.MQA_WATCHDOG_GRACE_MS ?? 120_000);
/** From the run's end to the process's exit. */
const EXIT_MS = 60_000;

/** The whole run: twice what it takes on 2 cores. */
const RUN_MS = 30 * 60_000;

let title = "(before the first test)";
let startedAt = Date.now();
let deadline = Date.now() + 15 * 60_000;
const runDeadline = Date.now() + RUN_MS;
/** What the test process still ran when the run ended: killed once it exits, so nothing outlives the run. */
let leftAtEnd = [];

createInterface({ input: process.stdin })
  .on("line", (line) => {
    startedAt = Date.now();
    if (line === "E") {
      title = "(the run had ended: the process did not exit)";
      deadline = startedAt + EXIT_MS;
      try {
        leftAtEnd = descendants(processes(), parent).filter((p) => !/esbuild --service/.test(p.args));
      } catch {
        /* ps failed: nothing to clean */
      }
      process.stdout.write("ok\n"); // the test process waits for this before it exits
      return;
    }
    const [, ms, text] = /^T (\d+) (.*)$/.exec(line) ?? [];
    if (text === undefined) return;
    title = text;
    deadline = startedAt + (Number(ms) > 0 ? Number(ms) : 30 * 60_000) + GRACE_MS;
  })
  .on("close", () => {
    killLeftovers();
    process.exit(0);
  });

function killLeftovers() {
  if (leftAtEnd.length === 0) return;
  let alive = [];
  try {
    const now = new Set(processes().map((p) => p.pid));
    alive = leftAtEnd.filter((p) => now.has(p.pid));
  } catch {
    return;
  }
  if (alive.length === 0) return;
  process.stderr.write(`!!! WATCHDOG: still running after the run, killed:\n${alive.map((p) => `!!!   ${p.pid} ${p.args.slice(0, 200)}`).join("\n")}\n`);
  for (const p of alive) try { process.kill(p.pid, "SIGKILL"); } catch { /* gone */ }
}

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
  const overRun = Date.now() >= runDeadline;
  if (Date.now() < deadline && !overRun) return;
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  const what = overRun ? `the run took over ${RUN_MS / 60_000} minutes; now in (for ${seconds} s): ${title}` : `stuck for ${seconds} s in: ${title}`;
  const lines = [`\n!!! WATCHDOG: ${what}`, `!!! the test process (${parent}) and what it started:`];
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
