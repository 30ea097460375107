// The chain of a chaos run (issue 17): origin → archive relay → mirror.
// The archive relay is a `subscribe` from the origin storing into an outbox
// of its own (plus a maildir, so its archive is checked too) and a second
// `serve` over that outbox; the mirror connects to the archive relay first
// and to the origin second, failing over after 1 s and returning after 5 s.
// Faults kill the relay's serve (down for a while), kill its subscribe, or
// stop its subscribe so it falls behind the mirror. (Not to be confused with
// the TCP proxy in proxy.ts that cuts connections to the origin.)

import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair, writeKeyFiles } from "../../lib/security/keys.js";
import { Outbox } from "../../lib/store/outbox.js";
import { Daemon } from "../helpers/cli.js";
import { freePortPair } from "../helpers/ports.js";
import { waitFor } from "../helpers/wait.js";

/** Peer names of the chain in the origin's peers file. */
export const RELAY_PEER = "r";
export const MIRROR_PEER = "x";

export interface ChainSetup {
  dir: string;
  /** How the chain reaches the origin (through the TCP proxy, so its faults hit the chain too). */
  originEndpoint: string;
  originPub: string;
  /** Public key of the mirror (it must be in the relay's peers file too). */
  mirrorPublicKey: string;
}

export interface ChainPaths {
  relayDb: string;
  relayMaildir: string;
  mirrorMbox: string;
}

export class Chain {
  readonly paths: ChainPaths;
  private serve: Daemon | null = null;
  private relaySub: Daemon | null = null;
  private mirror: Daemon | null = null;
  /** Every mirror process of the run, for its log of endpoint moves. */
  private readonly mirrors: Daemon[] = [];
  private serveArgs: string[] = [];
  private relaySubArgs: string[] = [];
  private mirrorArgs: string[] = [];

  constructor(private readonly s: ChainSetup) {
    this.paths = {
      relayDb: join(s.dir, "relay-outbox.db"),
      relayMaildir: join(s.dir, "relay-maildir"),
      mirrorMbox: join(s.dir, "mirror-mbox"),
    };
  }

  async start(): Promise<void> {
    const { dir } = this.s;
    const port = await freePortPair();
    const endpoint = `tcp://127.0.0.1:${port}`;
    const publisher = writeKeyFiles(join(dir, "relay-publisher"), generateKeyPair());
    writeFileSync(join(dir, "relay-peers"), `${this.s.mirrorPublicKey} name=${MIRROR_PEER}\n`);
    this.serveArgs = [
      "serve", "--db", this.paths.relayDb, "--bind", endpoint, "--key", publisher.keyFile, "--peers", join(dir, "relay-peers"),
      "--retain", "0s", "--heartbeat", "300ms", "--log-level", "info",
    ];
    this.relaySubArgs = [
      "subscribe", "--connect", this.s.originEndpoint, "--key", join(dir, `${RELAY_PEER}.key`), "--server-key", this.s.originPub,
      "--state", join(dir, "relay-state.db"), "--sink", `outbox:${this.paths.relayDb}`, "--sink", `maildir:${this.paths.relayMaildir}`,
      "--log-level", "info",
    ];
    this.mirrorArgs = [
      "subscribe", "--key", join(dir, `${MIRROR_PEER}.key`), "--state", join(dir, "mirror-state.db"), "--sink", `mbox:${this.paths.mirrorMbox}`,
      "--connect", endpoint, "--server-key", publisher.pubFile, "--connect", this.s.originEndpoint, "--server-key", this.s.originPub,
      "--failover-after", "1s", "--return-after", "5s", "--log-level", "info",
    ];
    this.relaySub = Daemon.start(this.relaySubArgs);
    // The relay's outbox is made by its subscribe (it takes the origin's identity); serve opens it.
    await waitFor(() => existsSync(this.paths.relayDb), { timeoutMs: 20_000, what: "the relay's outbox" });
    await this.startServe();
    this.startMirror();
  }

  private async startServe(): Promise<void> {
    const d = Daemon.start(this.serveArgs);
    this.serve = d;
    await d.waitForLog("publisher listening");
  }

  private startMirror(): void {
    this.mirror = Daemon.start(this.mirrorArgs);
    this.mirrors.push(this.mirror);
  }

  /** Kill the relay's serve; the returned function starts it again. */
  async killServe(): Promise<() => Promise<void>> {
    const d = this.serve;
    this.serve = null;
    await d?.kill9();
    return () => this.startServe();
  }

  async killRelaySubscriber(): Promise<void> {
    await this.relaySub?.kill9();
    this.relaySub = Daemon.start(this.relaySubArgs);
  }

  /** SIGSTOP the relay's subscribe; the returned function sends SIGCONT (null: not running). */
  stopRelaySubscriber(): (() => void) | null {
    const d = this.relaySub;
    if (d === null) return null;
    d.signal("SIGSTOP");
    return () => d.signal("SIGCONT");
  }

  /** A daemon that exited without being killed is a violation; restart it so the run goes on. */
  async keepAlive(violations: string[], lastWords: (d: Daemon) => string): Promise<void> {
    if (this.serve !== null && !this.serve.alive) {
      violations.push(`the relay's serve exited on its own: ${lastWords(this.serve)}`);
      await this.startServe();
    }
    if (this.relaySub !== null && !this.relaySub.alive) {
      violations.push(`the relay's subscribe exited on its own: ${lastWords(this.relaySub)}`);
      this.relaySub = Daemon.start(this.relaySubArgs);
    }
    if (this.mirror !== null && !this.mirror.alive) {
      violations.push(`the mirror exited on its own: ${lastWords(this.mirror)}`);
      this.startMirror();
    }
  }

  /** Whether the relay and the mirror hold everything up to `head` (the mirror acks at either endpoint). */
  caughtUp(head: number, originAcked: ReadonlyMap<string, number>): boolean {
    if ((originAcked.get(RELAY_PEER) ?? -1) < head) return false;
    return Math.max(originAcked.get(MIRROR_PEER) ?? -1, this.mirrorAckedAtRelay()) >= head;
  }

  private mirrorAckedAtRelay(): number {
    if (!existsSync(this.paths.relayDb)) return -1;
    try {
      const outbox = Outbox.open(this.paths.relayDb, { create: false, readonly: true });
      try {
        return outbox.peers.all().find((p) => p.name === MIRROR_PEER)?.acked ?? -1;
      } finally {
        outbox.close();
      }
    } catch {
      return -1; // busy: the next poll will do
    }
  }

  progress(): string {
    return `mirror acked ${this.mirrorAckedAtRelay()} at the relay`;
  }

  /** How often the mirror moved from the relay to the origin (failovers), and back to the relay (returns). */
  moves(): { failovers: number; returns: number } {
    const moves = this.mirrors.flatMap((d) => d.logs.filter((l) => l.msg === "moving to another endpoint"));
    const failovers = moves.filter((l) => l.connect === this.s.originEndpoint).length;
    return { failovers, returns: moves.length - failovers };
  }

  tails(lines: number): string[] {
    const out: string[] = [];
    for (const [name, d] of [["relay serve", this.serve], ["relay subscribe", this.relaySub], ["mirror", this.mirror]] as const) {
      out.push(`--- ${name} ---`, ...(d?.stderrText.slice(-lines) ?? []));
    }
    return out;
  }

  /** SIGTERM the mirror, then the relay; a daemon that does not stop cleanly is a violation. */
  async stopAll(violations: string[]): Promise<void> {
    for (const [name, d] of [["mirror", this.mirror], ["relay subscribe", this.relaySub], ["relay serve", this.serve]] as const) {
      const exit = await d?.stop();
      if (exit && exit.code !== 0) violations.push(`${name} stopped with ${exit.code ?? exit.signal}`);
    }
  }
}
