// A publisher and subscribers as real processes on loopback, plus ways to
// publish into the outbox and to see how far every peer got.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair, writeKeyFiles, type KeyPair } from "../../lib/security/keys.js";
import { Outbox } from "../../lib/store/outbox.js";
import { Daemon, runCli } from "./cli.js";
import type { TestMessage } from "./messages.js";
import { freePortPair } from "./ports.js";
import { tempDir } from "./tmp.js";
import { waitFor } from "./wait.js";

export class Mesh {
  readonly dir = tempDir("mqa-mesh-");
  readonly db = join(this.dir, "outbox.db");
  port = 0;

  static async create(): Promise<Mesh> {
    const mesh = new Mesh();
    mesh.port = await freePortPair();
    return mesh;
  }

  get endpoint(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Key files NAME.key / NAME.pub in the mesh directory. */
  makeKey(name: string): KeyPair & { keyFile: string; pubFile: string } {
    const pair = generateKeyPair();
    return { ...pair, ...writeKeyFiles(this.path(name), pair) };
  }

  /** The peers file, one line per peer. */
  writePeers(lines: string[]): string {
    const file = this.path("peers");
    writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  }

  /** serve with CURVE: the publisher's key and the peers file (both must exist). */
  async serveSecure(extra: string[] = []): Promise<Daemon> {
    const args = ["serve", "--db", this.db, "--bind", this.endpoint, "--key", this.path("publisher.key"), "--peers", this.path("peers")];
    const d = Daemon.start([...args, "--log-level", "debug", ...extra]);
    await d.waitForLog("publisher listening");
    return d;
  }

  subscribeSecure(state: string, sinks: string[], key: string, extra: string[] = []): Daemon {
    const args = ["subscribe", "--connect", this.endpoint, "--state", this.path(state), "--log-level", "debug"];
    args.push("--key", this.path(`${key}.key`), "--server-key", this.path("publisher.pub"));
    for (const s of sinks) args.push("--sink", s);
    return Daemon.start([...args, ...extra]);
  }

  async serve(extra: string[] = []): Promise<Daemon> {
    const d = Daemon.start(["serve", "--insecure", "--db", this.db, "--bind", this.endpoint, "--log-level", "debug", ...extra]);
    await d.waitForLog("publisher listening");
    return d;
  }

  subscribe(state: string, sinks: string[], extra: string[] = []): Daemon {
    const args = ["subscribe", "--insecure", "--connect", this.endpoint, "--state", this.path(state), "--log-level", "debug"];
    for (const s of sinks) args.push("--sink", s);
    return Daemon.start([...args, ...extra]);
  }

  /** Commit messages through the library, one fsync'd transaction each as concurrent `publish` runs would, or all in one. */
  publish(messages: readonly TestMessage[], { together = false } = {}): number[] {
    const outbox = Outbox.open(this.db);
    try {
      const records = messages.map((m) => ({ list: m.list, messageId: m.messageId, body: m.body }));
      const results = together ? outbox.records.appendMany(records) : records.map((r) => outbox.records.append(r));
      return results.map((r) => r.seq);
    } finally {
      outbox.close();
    }
  }

  /** Publish through the real CLI, one process per message. */
  async publishCli(messages: readonly TestMessage[]): Promise<number[]> {
    const seqs: number[] = [];
    for (const m of messages) {
      const r = await runCli(["publish", "--db", this.db, "--list", m.list], { input: m.body });
      if (r.status !== 0) throw new Error(`publish exited ${r.status}: ${r.stderr}`);
      seqs.push(Number(r.stdout.trim()));
    }
    return seqs;
  }

  head(): number {
    const outbox = Outbox.open(this.db, { create: false });
    try {
      return outbox.records.head();
    } finally {
      outbox.close();
    }
  }

  /** The acked seq of every registered peer, by name. */
  acked(): Map<string, number> {
    const outbox = Outbox.open(this.db, { create: false });
    try {
      return new Map(outbox.peers.all().map((p) => [p.name, p.acked]));
    } finally {
      outbox.close();
    }
  }

  /** Wait until the named peers have acknowledged everything up to `seq`. */
  async waitAcked(names: readonly string[], seq: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(
      () => {
        const acked = this.acked();
        return names.every((n) => (acked.get(n) ?? -1) >= seq);
      },
      { timeoutMs, intervalMs: 100, what: `peers ${names.join(", ")} to ack ${seq} (acked: ${JSON.stringify([...this.acked()])})` },
    );
  }
}
