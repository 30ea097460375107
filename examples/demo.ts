// `npm run demo`: the whole path on loopback, with real processes. Starts a
// publisher (serve) and an archive peer (subscribe) with maildir and mbox
// sinks, publishes the sample messages in examples/messages/<list>/ one
// process each (as Mailman would), waits until the peer has acknowledged
// them, prints where they are, and stops.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Outbox } from "../lib/index.js";

const BIN = fileURLToPath(new URL("../bin/mq-archive.js", import.meta.url));
const MESSAGES = fileURLToPath(new URL("../../examples/messages", import.meta.url));

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function cli(args: string[], input?: Buffer): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: "buffer" });
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Start a daemon and resolve with its first log line that `match` accepts. */
function daemon(args: string[], match: (line: Record<string, unknown>) => boolean): Promise<[ChildProcess, Record<string, unknown>]> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let buffered = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (match(parsed)) resolve([child, parsed]);
        } catch {
          process.stderr.write(`${line}\n`);
        }
      }
    });
    child.on("exit", (code) => reject(new Error(`mq-archive ${args[0]} exited with ${code} before it was ready`)));
  });
}

async function waitForAck(db: string, seq: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outbox = Outbox.open(db, { create: false });
    const acked = outbox.peers.all().map((p) => p.acked);
    await outbox.close();
    if (acked.length > 0 && Math.min(...acked) >= seq) return;
    if (Date.now() > deadline) throw new Error(`the archive peer did not acknowledge seq ${seq} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mq-archive-demo-"));
  const db = join(dir, "outbox.db");
  say(`mq-archive demo, working in ${dir}`);

  const [serve, listening] = await daemon(
    ["serve", "--insecure", "--db", db, "--bind", "tcp://127.0.0.1:*", "--log-level", "info"],
    (l) => l.msg === "publisher listening",
  );
  say(`  publisher (serve) listening on ${String(listening.router)} (ROUTER) and ${String(listening.pub)} (PUB)`);
  const sinks = ["--sink", `maildir:${join(dir, "maildir")}`, "--sink", `mbox:${join(dir, "mbox")}`];
  const [subscribe] = await daemon(
    ["subscribe", "--insecure", "--connect", String(listening.router), "--state", join(dir, "peer.db"), "--name", "demo-archive", ...sinks],
    (l) => l.msg === "subscriber started",
  );
  say("  archive peer (subscribe) started with a maildir and an mbox sink");

  let head = 0;
  const lists = readdirSync(MESSAGES).sort();
  for (const list of lists) {
    for (const file of readdirSync(join(MESSAGES, list)).sort()) {
      const r = cli(["publish", "--db", db, "--list", list, join(MESSAGES, list, file)]);
      if (r.status !== 0) throw new Error(`publish ${file} failed (${r.status}): ${r.stderr}`);
      head = Math.max(head, Number(r.stdout));
      say(`  published ${list}/${file} → seq ${r.stdout.trim()}`);
    }
  }
  const again = cli(["publish", "--db", db, "--list", lists[0]!, join(MESSAGES, lists[0]!, readdirSync(join(MESSAGES, lists[0]!)).sort()[0]!)]);
  say(`  published the first message again → seq ${again.stdout.trim()} (${again.stderr.trim().replace(/^mq-archive: /, "")})`);

  const started = Date.now();
  await waitForAck(db, head);
  say(`  the archive peer acknowledged everything up to seq ${head} in ${Date.now() - started} ms\n`);

  say("archived:");
  for (const list of lists) {
    const maildir = join(dir, "maildir", list, "new");
    say(`  ${list}`);
    say(`    maildir ${maildir} (${readdirSync(maildir).length} messages)`);
    say(`    mbox    ${join(dir, "mbox", `${list}.mbox`)}`);
  }
  say("");
  process.stdout.write(cli(["status", "--db", db]).stdout);

  for (const child of [subscribe, serve]) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  say(`\nstopped both daemons; the archive stays in ${dir}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
