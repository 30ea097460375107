// A relay's end-to-end rate to one mirror against the origin's to one peer
// (issue 17), side by side, alternating, real processes on loopback:
//
//   direct: origin serve → subscribe (null sink)
//   chain:  origin serve → relay subscribe (outbox:RELAY_DB) → relay serve → mirror subscribe (null sink)
//
// A backlog of --messages × 10 KB is committed first; the clock runs from
// the subscribers' start until the last peer (the direct peer, or the
// mirror) has acknowledged the head.
//
//   npm run bench:relay -- [--messages 20000] [--runs 3]

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median } from "../lib/bench/stats.js";
import { Outbox } from "../lib/store/outbox.js";
import { freePortPair } from "../spec/helpers/ports.js";
import { BIN } from "./bin.js";

const { values } = parseArgs({ options: { messages: { type: "string", default: "20000" }, runs: { type: "string", default: "3" } } });
const MESSAGES = Number(values.messages);

function daemon(args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, ...args, "--log-level", "error"], { stdio: ["ignore", "ignore", "inherit"] });
}

function backlog(db: string): number {
  const outbox = Outbox.open(db);
  try {
    const body = "x".repeat(10_000);
    for (let start = 0; start < MESSAGES; start += 1000) {
      const records = Array.from({ length: Math.min(1000, MESSAGES - start) }, (_, k) => {
        const i = start + k;
        return { list: `list-${i % 10}`, messageId: `<relay-bench-${i}@x>`, body: Buffer.from(`From: a@b\nMessage-ID: <relay-bench-${i}@x>\n\n${body}\n`) };
      });
      outbox.records.appendMany(records);
    }
    return outbox.records.head();
  } finally {
    void outbox.close();
  }
}

/** Wait until some peer of the outbox at `db` acknowledged `head`. */
async function acked(db: string, head: number): Promise<void> {
  for (;;) {
    try {
      const outbox = Outbox.open(db, { create: false, readonly: true });
      try {
        if (outbox.peers.all().some((p) => p.acked >= head)) return;
      } finally {
        void outbox.close();
      }
    } catch {
      /* not created yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function run(mode: "direct" | "chain"): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "mqa-relay-bench-"));
  const procs: ChildProcess[] = [];
  try {
    const origin = join(dir, "origin.db");
    const head = backlog(origin);
    const port = await freePortPair();
    const serveArgs = (db: string, p: number) => ["serve", "--insecure", "--db", db, "--bind", `tcp://127.0.0.1:${p}`];
    procs.push(daemon(serveArgs(origin, port)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sub = (connect: number, state: string, sink: string) =>
      daemon(["subscribe", "--insecure", "--connect", `tcp://127.0.0.1:${connect}`, "--state", join(dir, state), "--sink", sink]);
    const started = performance.now();
    if (mode === "direct") {
      procs.push(sub(port, "peer.db", "null"));
      await acked(origin, head);
    } else {
      const relayDb = join(dir, "relay.db");
      const relayPort = await freePortPair();
      procs.push(sub(port, "relay.db.state", `outbox:${relayDb}`));
      procs.push(daemon(serveArgs(relayDb, relayPort)));
      procs.push(sub(relayPort, "mirror.db", "null"));
      await acked(relayDb, head);
    }
    return MESSAGES / ((performance.now() - started) / 1000);
  } finally {
    for (const p of procs) p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

const rates: Record<"direct" | "chain", number[]> = { direct: [], chain: [] };
for (let i = 0; i < Number(values.runs); i++) {
  for (const mode of ["direct", "chain"] as const) rates[mode].push(await run(mode));
}
const show = (r: number[]) => `median ${Math.round(median(r))} msg/s (${r.map((x) => Math.round(x)).join(", ")})`;
process.stdout.write(`${MESSAGES} × 10 KB backlog, end to end to the last peer: origin → peer ${show(rates.direct)}; origin → relay → mirror ${show(rates.chain)}\n`);
