// The serve engine: binds ROUTER and PUB, answers peers, streams the outbox,
// fans out what is committed, keeps heartbeats, persists acks and prunes.
// Its parts share one session table (control.ts owns it; the streamer and
// the fan-out read it); frame handling lives in control.ts and greeter.ts,
// streaming in streamer.ts, live fan-out in fanout.ts.

import { isOutboxBusy, StateMachineError } from "../errors.js";
import { Lifecycle, runCloseSteps, type CloseReason } from "../lifecycle.js";
import { silentLogger, type Logger } from "../log.js";
import { InsecureAuthorizer } from "../security/authorizer.js";
import type { KeyPair } from "../security/keys.js";
import type { PeerAcl } from "../security/peers-file.js";
import { Outbox } from "../store/outbox.js";
import { derivePubEndpoint } from "../transport/endpoints.js";
import type { CurveServer, RouterSocket } from "../transport/zmq.js";
import { Control, emptyCounters, type PublisherCounters } from "./control.js";
import { Fanout } from "./fanout.js";
import { Gatekeeper } from "./gatekeeper.js";
import type { Session, SessionTimers } from "./session.js";
import { startSpoolDrain, type SpoolDrain, type SpoolOptions } from "./spool-drain.js";
import { bindPub, bindRouter } from "./sockets.js";
import { Streamer } from "./streamer.js";
import { OutboxWatcher } from "./watcher.js";

export type { CloseReason };

export interface PublisherOptions {
  /** An outbox path (opened as DAEMON_OUTBOX, closed by the publisher) or an open Outbox, its caller's to close. */
  outbox: string | Outbox;
  bind: string;
  /** Default: the port after `bind`'s. */
  pubBind?: string;
  /** The PUB endpoint to tell peers, when they reach it by another address than the bound one. */
  announcePub?: string;
  heartbeatMs?: number;
  /** Keep acknowledged records this long (ms) for late joiners. */
  retainMs?: number;
  pruneEveryMs?: number;
  /** CURVE keys and the allowlist; absent means plaintext, every peer trusted (--insecure). */
  security?: { keys: KeyPair; peers: PeerAcl };
  /** A spool to import into the outbox as files arrive (Mailman's plugin writes it when publish fails). */
  spool?: SpoolOptions;
  log?: Logger;
}

export interface BoundEndpoints {
  router: string;
  pub: string;
}

/**
 * How the daemon opens the outbox: its own writes (acks, pruning) need no
 * fsync of their own, and it never waits for another process's lock (a
 * wait blocks every peer: with 2 ms, a `publish` holding the lock through
 * its fsync stalled serve four times a second); a write that finds the lock
 * taken is tried again on the next round. Its WAL checkpoints run on the
 * outbox's own thread, off the event loop.
 */
export const DAEMON_OUTBOX = { durability: "normal", busyTimeoutMs: 0, daemon: true } as const;

/** What a started publisher runs. */
interface Running {
  outbox: Outbox;
  router: RouterSocket;
  control: Control;
  fanout: Fanout;
  streamer: Streamer;
  /** Present with keys (CURVE), with PUB's CURVE settings (kept for a rebind). */
  gate: Gatekeeper | null;
  pubCurve: CurveServer | undefined;
}

export class Publisher {
  readonly log: Logger;
  private readonly heartbeatMs: number;
  private readonly retainMs: number;
  private readonly lifecycle = new Lifecycle("publisher");
  private running: Running | null = null;
  /** What close() undoes, in reverse order of opening (a failed start undoes what it got to). */
  private readonly opened: Array<() => unknown> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private head = 0;
  /** The head when serve started: what was committed since is `head - startHead`. */
  private startHead = 0;
  private pruned = 0;
  private spool: SpoolDrain | null = null;

  constructor(private readonly options: PublisherOptions) {
    this.log = options.log ?? silentLogger();
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.retainMs = options.retainMs ?? 7 * 86_400_000;
  }

  async start(): Promise<BoundEndpoints> {
    this.lifecycle.begin();
    try {
      return await this.open();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  private async open(): Promise<BoundEndpoints> {
    const o = this.options;
    const outbox = this.openOutbox();
    this.head = outbox.records.head();
    this.startHead = this.head;
    const gate = o.security ? new Gatekeeper(o.security.keys, o.security.peers, this.log.child({ component: "gatekeeper" })) : null;
    const curve = gate ? await gate.start() : null;
    if (gate) this.opened.push(() => gate.close());
    if (o.security) await this.syncPeers(outbox, o.security.peers);
    const router = await bindRouter(o.bind, this.heartbeatMs, curve?.router);
    this.opened.push(() => router.close());
    const pub = await bindPub(o.pubBind ?? derivePubEndpoint(o.bind), curve?.pub);
    const control = new Control({
      identity: () => outbox.identityNow(),
      records: outbox.records,
      verify: outbox.records,
      peers: outbox.peers,
      router,
      pubEndpoint: o.announcePub ?? pub.endpoint,
      heartbeatMs: this.heartbeatMs,
      authorizer: gate?.authorizer ?? new InsecureAuthorizer(),
      log: this.log.child({ component: "control" }),
      head: () => this.head,
      wake: () => void this.running?.streamer.pump(),
    });
    this.opened.push(() => control.close());
    const table = control.table;
    const fanout = new Fanout(outbox.records, pub, this.log.child({ component: "fanout" }), this.head, () => table.pubListeners());
    this.opened.push(() => fanout.close());
    const streamer = new Streamer({
      records: outbox.records,
      router,
      log: this.log.child({ component: "streamer" }),
      sessions: table,
      head: () => this.head,
      onSendFailure: (session, err, run) => control.sendFailed(session, err, run),
    });
    this.running = { outbox, router, control, fanout, streamer, gate, pubCurve: curve?.pub };
    router.listen({ onMessage: (id, parts) => this.receive(id, parts), onError: (err) => this.fail(err) });
    this.startTimers(outbox.path);
    if (o.spool) {
      const spool = await startSpoolDrain(o.spool, outbox.path, this.log.child({ component: "spool" }));
      this.spool = spool;
      this.opened.push(() => spool.close());
    }
    const bound = { router: router.endpoint, pub: pub.endpoint };
    this.log.info({ ...bound, outbox: outbox.path, outboxId: outbox.id, head: this.head }, "publisher listening");
    return bound;
  }

  /** The outbox, opened for the daemon when given as a path (and then closed by close()). */
  private openOutbox(): Outbox {
    const given = this.options.outbox;
    if (typeof given !== "string") return given;
    const outbox = Outbox.open(given, DAEMON_OUTBOX);
    this.opened.push(() => outbox.close()); // awaited: its checkpoint thread must be done with the files when close() resolves
    return outbox;
  }

  private startTimers(dbPath: string): void {
    const watcher = new OutboxWatcher({
      dbPath,
      pollMs: 50,
      onChange: () => this.checkHead(),
      onError: (err) => this.log.warn({ err }, "cannot watch the outbox directory; polling every 50 ms"),
    });
    watcher.start();
    this.opened.push(() => watcher.close());
    this.every(this.heartbeatMs, () => this.tick());
    this.every(250, () => this.persist());
    this.every(this.options.pruneEveryMs ?? Math.min(60_000, Math.max(1000, this.retainMs / 10)), () => this.prune());
    this.prune();
  }

  /** One peer's frame; whatever goes wrong handling it, the daemon goes on. */
  private receive(routingId: Buffer, parts: Buffer[]): void {
    try {
      this.running?.control.receive(routingId, parts);
    } catch (err) {
      this.log.error({ err }, "failed to handle a peer's frame");
    }
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(() => {
      try {
        fn();
      } catch (err) {
        this.log.error({ err }, "periodic task failed");
      }
    }, ms);
    this.timers.push(timer);
  }

  private persist(): void {
    const r = this.running;
    if (r === null) return;
    r.control.persist();
    if (r.gate === null) return;
    const refusals = r.gate.drainRefusals();
    try {
      r.outbox.peers.recordRefusals(refusals);
    } catch (err) {
      r.gate.requeueRefusals(refusals);
      if (!isOutboxBusy(err)) throw err;
    }
  }

  /**
   * Replace the allowlist (the peers file changed). Sessions of removed keys
   * end now; keys whose lists changed must start a new session; if a key
   * that could follow PUB lost that right, PUB is rebound so every
   * subscriber reconnects through the authenticator again.
   */
  async setPeers(peers: PeerAcl): Promise<void> {
    const r = this.running;
    if (r?.gate == null) throw new StateMachineError("setPeers needs a publisher started with keys");
    const change = r.gate.setPeers(peers);
    for (const key of change.removed) r.control.endPeer(key, "NOT_AUTHORIZED", "this key was removed from the publisher's peers file", true);
    for (const key of change.narrowed) r.control.endPeer(key, "NO_SESSION", "this key's lists changed: start a new session", false);
    await this.syncPeers(r.outbox, peers);
    if (change.pubAffected) await this.rebindPub(r);
    this.log.info({ peers: peers.entries().length, removed: change.removed.length, changed: change.narrowed.length }, "peers reloaded");
  }

  private async syncPeers(outbox: Outbox, peers: PeerAcl): Promise<void> {
    const entries = peers.entries().map((e) => ({ id: e.key, name: e.name, lists: e.lists }));
    for (let attempt = 0; ; attempt++) {
      try {
        const forgotten = outbox.peers.syncAllowlist(entries);
        if (forgotten.length > 0) this.log.info({ forgotten: forgotten.length }, "peers not in the peers file no longer hold back pruning");
        return;
      } catch (err) {
        if (!isOutboxBusy(err) || attempt >= 3000) throw err;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  private async rebindPub(r: Running): Promise<void> {
    if (this.lifecycle.isClosing) return;
    await r.fanout.rebind((endpoint) => bindPub(endpoint, r.pubCurve));
    this.log.info({ endpoint: r.fanout.endpoint }, "PUB rebound: every subscriber re-authenticates");
  }

  /** Look for newly committed records now (library users may call it after appending). */
  notify(): void {
    this.checkHead();
  }

  private checkHead(): void {
    const r = this.running;
    if (r === null || this.lifecycle.isClosing) return;
    let head: number;
    try {
      head = r.outbox.records.head();
    } catch (err) {
      this.log.error({ err }, "cannot read the outbox head");
      return;
    }
    if (head <= this.head) return;
    this.head = head;
    void r.fanout.advance(head);
    void r.streamer.pump();
  }

  private tick(): void {
    this.checkHead();
    this.running?.control.heartbeat(Date.now(), this.sessionTimers());
    void this.running?.streamer.pump();
  }

  private sessionTimers(): SessionTimers {
    return { expireMs: this.heartbeatMs * 3 + 500, resendMs: Math.max(5000, this.heartbeatMs * 5), resendMaxMs: 60_000 };
  }

  private prune(): void {
    const r = this.running;
    if (r === null) return;
    let pruned: number;
    try {
      pruned = r.outbox.pruneAcknowledged(Date.now() - this.retainMs, r.control.lowestLivePosition());
    } catch (err) {
      if (isOutboxBusy(err)) return; // next time
      throw err;
    }
    this.pruned += pruned;
    if (pruned > 0) this.log.info({ pruned, first: r.outbox.records.first() }, "pruned records every peer acknowledged");
    else this.log.debug({ first: r.outbox.records.first() }, "prune check: nothing to prune");
  }

  /** Counters for status and tests. */
  counters(): PublisherCounters & { head: number; committed: number; pruned: number; sessions: number; refusedKeys: number; sharedReads: number } {
    const r = this.running;
    return {
      ...(r?.control.counters ?? emptyCounters()),
      head: this.head,
      committed: this.head - this.startHead,
      pruned: this.pruned,
      sessions: r?.control.table.size ?? 0,
      refusedKeys: r?.gate?.refusedTotal ?? 0,
      sharedReads: r?.streamer.sharedReads ?? 0,
    };
  }

  sessions(): Session[] {
    return this.running ? [...this.running.control.table.all()] : [];
  }

  /** The outbox being served, or null when not started (for status views such as the metrics). */
  get outbox(): Outbox | null {
    return this.running?.outbox ?? null;
  }

  /** Since when (ms) the spool's imports have failed; null when they work or there is no spool. */
  get spoolFailingSince(): number | null {
    return this.spool?.failingSince ?? null;
  }

  private fail(error: Error): void {
    this.log.error({ err: error }, "publisher socket failed");
    void this.close(error);
  }

  close(error?: Error): Promise<void> {
    return this.lifecycle.close(() => this.shutdown(), error);
  }

  private async shutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await runCloseSteps([() => this.persist(), ...this.opened.splice(0).reverse()], this.log);
    this.log.info("publisher stopped");
  }

  closed(): Promise<CloseReason> {
    return this.lifecycle.closed();
  }
}
