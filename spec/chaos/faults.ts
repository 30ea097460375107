// The faults of a chaos run, chosen from its seed: SIGKILL and restart of
// serve and of each subscriber, SIGSTOP/SIGCONT of a subscriber, cut and
// refused connections (through the TCP proxy), an exec sink failing for a
// while (exit 75), a sink directory unusable for a while; on the chain, the
// relay's serve down for a while, its subscribe killed or stopped. Daemons
// that exit on their own are violations, restarted so the run can go on.

import { existsSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { Daemon } from "../helpers/cli.js";
import type { Chain } from "./chain.js";
import type { TcpProxy } from "./proxy.js";

export interface SubscriberSlot {
  args: string[];
  daemon: Daemon | null;
  /** The sink directory a fault can make unusable (null: none). */
  dir: string | null;
}

export type Subscribers = Record<"m" | "b" | "e", SubscriberSlot>;

export interface FaultDeps {
  random: () => number;
  proxies: TcpProxy[];
  subscribers: Subscribers;
  startServe: () => Promise<Daemon>;
  chain: Chain;
  execTempFlag: string;
  violations: string[];
  say: (line: string) => void;
}

type Kind =
  | "kill-serve" | "kill-subscriber" | "stop-subscriber" | "cut" | "refuse" | "exec-temporary" | "sink-unwritable"
  | "kill-relay-serve" | "kill-relay-subscriber" | "stop-relay-subscriber";

const WEIGHTS: Array<[Kind, number]> = [
  ["kill-serve", 2], ["kill-subscriber", 3], ["stop-subscriber", 2], ["cut", 2], ["refuse", 1], ["exec-temporary", 1], ["sink-unwritable", 1],
  ["kill-relay-serve", 1], ["kill-relay-subscriber", 1], ["stop-relay-subscriber", 1],
];

/** Every kind of fault, in the order a run starts with (one of each, then drawn by weight). */
export const FAULT_KINDS: readonly Kind[] = WEIGHTS.map(([kind]) => kind);

/** What a daemon said before it exited: its errors and whatever was not a log line. */
export function lastWords(d: Daemon): string {
  const important = d.stderrText.filter((line) => !line.startsWith("{") || /"level":(50|60)/.test(line));
  // Each line cut short, never the last ones: the reason a daemon died comes last.
  const last = important.slice(-6).map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line));
  return `(exit ${d.ended ?? "?"}) ${last.join(" | ")}`;
}

export class FaultInjector {
  count = 0;
  readonly byKind: Record<string, number> = {};
  private serve: Daemon | null = null;
  /** Undo actions of faults still in effect, by what they hold. */
  /** Faults in effect, until their undo has finished (a fault of the same key is not injected meanwhile). */
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; undo: () => Promise<void> | void; ending?: Promise<void> }>();

  constructor(private readonly d: FaultDeps) {}

  async startAll(): Promise<void> {
    this.serve = await this.d.startServe();
    for (const slot of Object.values(this.d.subscribers)) slot.daemon = Daemon.start(slot.args);
    await this.d.chain.start();
  }

  /** Inject `total` faults at random moments within `seconds`: one of each kind first, then drawn by weight. */
  async run(seconds: number, total: number): Promise<void> {
    const start = Date.now();
    const times = Array.from({ length: total }, () => 500 + this.d.random() * (seconds * 1000 - 500)).sort((a, b) => a - b);
    for (const [i, at] of times.entries()) {
      while (Date.now() - start < at) {
        await this.keepAlive();
        await new Promise((resolve) => setTimeout(resolve, Math.min(100, at - (Date.now() - start))));
      }
      await this.inject(FAULT_KINDS[i] ?? this.pick());
    }
  }

  private pick(): Kind {
    const total = WEIGHTS.reduce((n, [, w]) => n + w, 0);
    let x = this.d.random() * total;
    for (const [kind, w] of WEIGHTS) if ((x -= w) < 0) return kind;
    return "cut";
  }

  private slot(): [string, SubscriberSlot] {
    const names = Object.keys(this.d.subscribers) as Array<keyof Subscribers>;
    const name = names[Math.floor(this.d.random() * names.length)]!;
    return [name, this.d.subscribers[name]];
  }

  private duration(min: number, max: number): number {
    return min + this.d.random() * (max - min);
  }

  /** Inject a fault and count the kind that was injected. */
  private async inject(kind: Kind): Promise<void> {
    const injected = await this.apply(kind);
    this.count++;
    this.byKind[injected] = (this.byKind[injected] ?? 0) + 1;
    this.d.say(`fault ${this.count}: ${injected}`);
  }

  /** Inject `kind`, or a cut when that fault is already in effect; returns what was injected. */
  private async apply(kind: Kind): Promise<Kind> {
    switch (kind) {
      case "kill-serve":
        await this.serve?.kill9();
        this.serve = await this.d.startServe();
        return kind;
      case "kill-subscriber": {
        const [name, slot] = this.slot();
        await slot.daemon?.kill9();
        void this.settle(`stop:${name}`);
        slot.daemon = Daemon.start(slot.args);
        return kind;
      }
      case "stop-subscriber": {
        const [name, slot] = this.slot();
        const ms = this.duration(2000, 4000); // drawn whatever happens, so the seed's stream of draws stays the same
        const daemon = slot.daemon;
        if (daemon === null || this.pending.has(`stop:${name}`)) return this.apply("cut");
        daemon.signal("SIGSTOP");
        this.hold(`stop:${name}`, ms, () => daemon.signal("SIGCONT"));
        return kind;
      }
      case "cut":
        for (const r of this.d.proxies) r.cut();
        return kind;
      case "refuse": {
        const ms = this.duration(1000, 3000);
        if (this.pending.has("refuse")) return this.apply("cut");
        for (const r of this.d.proxies) await r.refuse();
        this.hold("refuse", ms, async () => {
          for (const r of this.d.proxies) if (r.refusing) await r.open();
        });
        return kind;
      }
      case "exec-temporary": {
        const ms = this.duration(1000, 4000);
        if (this.pending.has("exec")) return this.apply("cut");
        writeFileSync(this.d.execTempFlag, "");
        this.hold("exec", ms, () => rmSync(this.d.execTempFlag, { force: true }));
        return kind;
      }
      case "sink-unwritable": {
        const slot = this.d.subscribers[this.d.random() < 0.5 ? "m" : "b"];
        const dir = slot.dir!;
        const ms = this.duration(1000, 3000);
        if (this.pending.has(`dir:${dir}`)) return this.apply("cut");
        // Running as root, permissions stop nothing: point the sink's path at a file instead of its directory,
        // in one rename (the path is never missing, as it would not be when a disk or mount fails).
        swapLink(dir, `${dir}.not-a-directory`);
        this.hold(`dir:${dir}`, ms, () => swapLink(dir, realDirOf(dir)));
        return kind;
      }
      default:
        return this.applyToChain(kind);
    }
  }

  /** The chain's faults: its relay's serve down for long enough that the mirror fails over; its subscribe killed or stopped. */
  private async applyToChain(kind: Kind): Promise<Kind> {
    const chain = this.d.chain;
    switch (kind) {
      case "kill-relay-serve": {
        const ms = this.duration(1500, 3500);
        if (this.pending.has("relay-serve")) return this.apply("cut");
        this.hold("relay-serve", ms, await chain.killServe());
        return kind;
      }
      case "kill-relay-subscriber":
        void this.settle("stop:relay");
        await chain.killRelaySubscriber();
        return kind;
      case "stop-relay-subscriber": {
        const ms = this.duration(2000, 4000);
        const resume = this.pending.has("stop:relay") ? null : chain.stopRelaySubscriber();
        if (resume === null) return this.apply("cut");
        this.hold("stop:relay", ms, resume);
        return kind;
      }
      default:
        throw new Error(`not a fault of the chain: ${kind}`);
    }
  }

  private hold(key: string, ms: number, undo: () => Promise<void> | void): void {
    const timer = setTimeout(() => void this.settle(key), ms);
    this.pending.set(key, { timer, undo });
  }

  /** End a fault now; the returned promise settles when it has ended (callers that need not wait ignore it). */
  private settle(key: string): Promise<void> {
    const entry = this.pending.get(key);
    if (entry === undefined) return Promise.resolve();
    // Kept pending while its undo runs: a relay serve still starting must not be killed as the next fault.
    entry.ending ??= Promise.resolve()
      .then(() => clearTimeout(entry.timer))
      .then(entry.undo)
      .catch((err: Error) => {
        this.d.violations.push(`could not end the ${key} fault: ${err.message}`);
      })
      .finally(() => this.pending.delete(key));
    return entry.ending;
  }

  /** End every fault still in effect. */
  async healAll(): Promise<void> {
    // Awaited: an undo still running (a serve starting) must not meet stopAll().
    await Promise.all([...this.pending.keys()].map((key) => this.settle(key)));
    for (const r of this.d.proxies) if (r.refusing) await r.open();
    await this.keepAlive();
  }

  /** A daemon that exited without being killed is a violation; restart it so the run goes on. */
  async keepAlive(): Promise<void> {
    if (this.serve !== null && !this.serve.alive) {
      this.d.violations.push(`serve exited on its own: ${lastWords(this.serve)}`);
      this.serve = await this.d.startServe();
    }
    for (const [name, slot] of Object.entries(this.d.subscribers)) {
      if (slot.daemon !== null && !slot.daemon.alive) {
        this.d.violations.push(`subscriber ${name} exited on its own: ${lastWords(slot.daemon)}`);
        slot.daemon = Daemon.start(slot.args);
      }
    }
    await this.d.chain.keepAlive(this.d.violations, lastWords);
  }

  /** The last log lines of every daemon, for a report when something does not settle. */
  tails(lines = 8): string {
    const out = [`--- serve ---`, ...(this.serve?.stderrText.slice(-lines) ?? [])];
    for (const [name, slot] of Object.entries(this.d.subscribers)) out.push(`--- ${name} ---`, ...(slot.daemon?.stderrText.slice(-lines) ?? []));
    out.push(...this.d.chain.tails(lines));
    return out.join("\n");
  }

  /** SIGTERM everything; a daemon that does not stop cleanly is a violation. */
  async stopAll(): Promise<void> {
    await this.d.chain.stopAll(this.d.violations);
    for (const [name, slot] of Object.entries(this.d.subscribers)) {
      const exit = await slot.daemon?.stop();
      if (exit && exit.code !== 0) this.d.violations.push(`subscriber ${name} stopped with ${exit.code ?? exit.signal}`);
    }
    const exit = await this.serve?.stop();
    if (exit && exit.code !== 0) this.d.violations.push(`serve stopped with ${exit.code ?? exit.signal}`);
    if (existsSync(this.d.execTempFlag)) rmSync(this.d.execTempFlag);
  }
}

/** Where a sink directory of the chaos run really is: its path is a symlink to this, so a fault can swap it. */
export const realDirOf = (dir: string): string => `${dir}.real`;

/** Point the symlink `link` at `target` atomically (a new link renamed over the old one); a missing target is made a file. */
function swapLink(link: string, target: string): void {
  if (!existsSync(target)) writeFileSync(target, "not a directory");
  const tmp = `${link}.swap`;
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, link);
}
