// The serve engine: binds ROUTER and PUB, answers peers, streams the outbox,
// fans out what is committed, keeps heartbeats, persists acks and prunes.
// Frame handling lives in control.ts; streaming in streamer.ts.

import { isOutboxBusy, StateMachineError } from "../errors.js";
import { silentLogger, type Logger } from "../log.js";
import { InsecureAuthorizer } from "../security/authorizer.js";
import type { KeyPair } from "../security/keys.js";
import type { PeerAcl } from "../security/peers-file.js";
import { Checkpointer } from "../store/checkpointer.js";
import { Outbox } from "../store/outbox.js";
import { PubSocket, RouterSocket, type CurveServer } from "../transport/zmq.js";
import { Gatekeeper } from "./gatekeeper.js";
import { Control, emptyCounters, type PublisherCounters } from "./control.js";
import { derivePubEndpoint } from "../transport/endpoints.js";
import { Fanout, type PubListeners } from "./fanout.js";
import type { Session, SessionTimers } from "./session.js";
import { Streamer } from "./streamer.js";
import { OutboxWatcher } from "./watcher.js";
import { MAX_HEADER_BYTES } from "../wire/frames.js";

export interface PublisherOptions {
  /** An outbox path (opened and closed by the publisher) or an open Outbox. */
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
  log?: Logger;
}

export interface BoundEndpoints {
  router: string;
  pub: string;
}

export type CloseReason = { type: "closed" } | { type: "failed"; error: Error };

/**
 * libzmq ends a connection that sends a single part over this, before the
 * daemon sees it. Peers send one-part frames of at most MAX_HEADER_BYTES;
 * parts up to twice that reach the daemon and are answered TOO_LARGE.
 */
const ROUTER_MAX_PART = 2 * MAX_HEADER_BYTES;
/**
 * Messages libzmq queues for one peer before a send to it fails (and its
 * stream pauses). A message carries at most CHUNK_BYTES of bodies unless a
 * single record is larger, so a connection that never reads pins at most
 * 64 × 256 KiB = 16 MiB of serve; an honest peer's credit (8 MiB) stays
 * well inside it.
 */
const ROUTER_HWM = 64;
/**
 * Messages PUB queues for one subscriber before dropping for it. A message
 * carries at most PUB_MAX_BODY of bodies (one record, or a batch), so a
 * stalled subscriber pins at most 512 × 64 KiB = 32 MiB of serve's memory
 * (with 1,000, batches of 60 KB pinned 60 MB; 256 made a healthy subscriber
 * drop behind PUB in bursts and repair over ROUTER, measured).
 */
const PUB_HWM = 512;

/**
 * How the daemon opens the outbox: its own writes (acks, pruning) need no
 * fsync of their own, and it never waits for another process's lock (a
 * wait blocks every peer: with 2 ms, a `publish` holding the lock through
 * its fsync stalled serve four times a second); a write that finds the lock
 * taken is tried again on the next round.
 */
export const DAEMON_OUTBOX = { durability: "normal", busyTimeoutMs: 0 } as const;

export class Publisher {
  readonly log: Logger;
  private readonly heartbeatMs: number;
  private readonly retainMs: number;
  private outbox: Outbox | null = null;
  private router: RouterSocket | null = null;
  private pub: PubSocket | null = null;
  private watcher: OutboxWatcher | null = null;
  private control: Control | null = null;
  private fanout: Fanout | null = null;
  private streamer: Streamer | null = null;
  private gate: Gatekeeper | null = null;
  private checkpointer: Checkpointer | null = null;
  private pubCurve: { curve?: CurveServer } = {};
  private readonly timers: NodeJS.Timeout[] = [];
  private head = 0;
  private started = false;
  private closing: Promise<void> | null = null;
  private resolveClosed!: (reason: CloseReason) => void;
  private readonly closedPromise = new Promise<CloseReason>((resolve) => (this.resolveClosed = resolve));

  constructor(private readonly options: PublisherOptions) {
    this.log = options.log ?? silentLogger();
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.retainMs = options.retainMs ?? 7 * 86_400_000;
  }

  async start(): Promise<BoundEndpoints> {
    if (this.started) throw new StateMachineError("publisher already started");
    this.started = true;
    try {
      return await this.open();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  private async open(): Promise<BoundEndpoints> {
    const o = this.options;
    const outbox = typeof o.outbox === "string" ? Outbox.open(o.outbox, DAEMON_OUTBOX) : o.outbox;
    this.outbox = outbox;
    outbox.leaveCheckpointsToOthers();
    this.checkpointer = new Checkpointer(outbox.path);
    this.head = outbox.head();
    let routerCurve: { curve?: CurveServer } = {};
    if (o.security) {
      this.gate = new Gatekeeper(o.security.keys, o.security.peers, this.log.child({ component: "gatekeeper" }));
      const curve = await this.gate.start();
      routerCurve = { curve: curve.router };
      this.pubCurve = { curve: curve.pub };
      await this.syncPeers(o.security.peers);
    }
    this.router = await RouterSocket.bind(o.bind, {
      heartbeatMs: this.heartbeatMs,
      maxMessageSize: ROUTER_MAX_PART,
      sendHighWaterMark: ROUTER_HWM,
      ...routerCurve,
    });
    this.pub = await this.bindPub(o.pubBind ?? derivePubEndpoint(o.bind));
    const listeners = (): PubListeners => this.control?.pubListeners() ?? "none";
    this.fanout = new Fanout(outbox, this.pub, this.log.child({ component: "fanout" }), this.head, listeners);
    this.control = new Control({
      outbox,
      router: this.router,
      pubEndpoint: o.announcePub ?? this.pub.endpoint,
      heartbeatMs: this.heartbeatMs,
      authorizer: this.gate?.authorizer ?? new InsecureAuthorizer(),
      log: this.log.child({ component: "control" }),
      head: () => this.head,
      wake: () => void this.streamer?.pump(),
    });
    this.streamer = new Streamer({
      outbox,
      router: this.router,
      log: this.log.child({ component: "streamer" }),
      sessions: () => this.control?.sessions() ?? [],
      head: () => this.head,
      onSendFailure: (session, err) => this.control?.sendFailed(session, err),
    });
    this.router.listen({
      onMessage: (id, parts) => this.receive(id, parts),
      onError: (err) => this.fail(err),
    });
    this.watcher = new OutboxWatcher({
      dbPath: outbox.path,
      pollMs: 50,
      onChange: () => this.checkHead(),
      onError: (err) => this.log.warn({ err }, "cannot watch the outbox directory; polling every 50 ms"),
    });
    this.watcher.start();
    this.every(this.heartbeatMs, () => this.tick());
    this.every(250, () => this.persist());
    this.every(this.options.pruneEveryMs ?? Math.min(60_000, Math.max(1000, this.retainMs / 10)), () => this.prune());
    this.prune();
    const bound = { router: this.router.endpoint, pub: this.pub.endpoint };
    this.log.info({ ...bound, outbox: outbox.path, outboxId: outbox.id, head: this.head }, "publisher listening");
    return bound;
  }

  /** One peer's frame; whatever goes wrong handling it, the daemon goes on. */
  private receive(routingId: Buffer, parts: Buffer[]): void {
    try {
      this.control?.receive(routingId, parts);
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

  private bindPub(endpoint: string): Promise<PubSocket> {
    return PubSocket.bind(endpoint, { sendHighWaterMark: PUB_HWM, ...this.pubCurve });
  }

  private persist(): void {
    this.control?.persist();
    if (this.gate === null || this.outbox === null) return;
    const refusals = this.gate.drainRefusals();
    try {
      this.outbox.recordRefusals(refusals);
    } catch (err) {
      this.gate.requeueRefusals(refusals);
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
    if (this.gate === null) throw new StateMachineError("setPeers needs a publisher started with keys");
    const change = this.gate.setPeers(peers);
    for (const key of change.removed) this.control?.endPeer(key, "NOT_AUTHORIZED", "this key was removed from the publisher's peers file", true);
    for (const key of change.narrowed) this.control?.endPeer(key, "NO_SESSION", "this key's lists changed: start a new session", false);
    await this.syncPeers(peers);
    if (change.pubAffected) await this.rebindPub();
    this.log.info({ peers: peers.entries().length, removed: change.removed.length, changed: change.narrowed.length }, "peers reloaded");
  }

  private async syncPeers(peers: PeerAcl): Promise<void> {
    const entries = peers.entries().map((e) => ({ id: e.key, name: e.name, lists: e.lists }));
    for (let attempt = 0; ; attempt++) {
      try {
        const forgotten = this.outbox?.syncPeers(entries) ?? [];
        if (forgotten.length > 0) this.log.info({ forgotten: forgotten.length }, "peers not in the peers file no longer hold back pruning");
        return;
      } catch (err) {
        if (!isOutboxBusy(err) || attempt >= 3000) throw err;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  private async rebindPub(): Promise<void> {
    const old = this.pub;
    if (old === null || this.closing) return;
    const endpoint = old.endpoint;
    old.close();
    for (let attempt = 0; ; attempt++) {
      try {
        this.pub = await this.bindPub(endpoint);
        break;
      } catch (err) {
        if (attempt >= 100) throw err;
        await new Promise((resolve) => setTimeout(resolve, 20)); // the old socket releases the port asynchronously
      }
    }
    this.fanout?.useSocket(this.pub);
    this.log.info({ endpoint }, "PUB rebound: every subscriber re-authenticates");
  }

  /** Look for newly committed records now (library users may call it after appending). */
  notify(): void {
    this.checkHead();
  }

  private checkHead(): void {
    if (this.outbox === null || this.closing) return;
    let head: number;
    try {
      head = this.outbox.head();
    } catch (err) {
      this.log.error({ err }, "cannot read the outbox head");
      return;
    }
    if (head <= this.head) return;
    this.head = head;
    void this.fanout?.advance(head);
    void this.streamer?.pump();
  }

  private tick(): void {
    this.checkHead();
    this.control?.heartbeat(Date.now(), this.sessionTimers());
    void this.streamer?.pump();
  }

  private sessionTimers(): SessionTimers {
    return { expireMs: this.heartbeatMs * 3 + 500, resendMs: Math.max(5000, this.heartbeatMs * 5), resendMaxMs: 60_000 };
  }

  private prune(): void {
    if (this.outbox === null) return;
    let pruned: number;
    try {
      pruned = this.outbox.prune(Date.now() - this.retainMs, this.control?.lowestLivePosition() ?? Infinity);
    } catch (err) {
      if (isOutboxBusy(err)) return; // next time
      throw err;
    }
    if (pruned > 0) this.log.info({ pruned, first: this.outbox.first() }, "pruned records every peer acknowledged");
    else this.log.debug({ first: this.outbox.first() }, "prune check: nothing to prune");
  }

  /** Counters for status and tests. */
  counters(): PublisherCounters & { head: number; sessions: number; refusedKeys: number; sharedReads: number } {
    const c = this.control;
    const sessions = c ? [...c.sessions()].length : 0;
    return {
      ...(c?.counters ?? emptyCounters()),
      head: this.head,
      sessions,
      refusedKeys: this.gate?.refusedTotal ?? 0,
      sharedReads: this.streamer?.sharedReads ?? 0,
    };
  }

  sessions(): Session[] {
    return this.control ? [...this.control.sessions()] : [];
  }

  private fail(error: Error): void {
    this.log.error({ err: error }, "publisher socket failed");
    void this.close(error);
  }

  close(error?: Error): Promise<void> {
    this.closing ??= this.shutdown(error);
    return this.closing;
  }

  private async shutdown(error?: Error): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.watcher?.close();
    const steps: Array<() => unknown> = [
      () => this.persist(),
      () => this.gate?.close(),
      () => this.checkpointer?.close(), // awaited: its thread must be done with the files when close() resolves
      () => this.router?.close(),
      () => this.pub?.close(),
      () => {
        if (typeof this.options.outbox === "string") this.outbox?.close();
      },
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.log.warn({ err }, "error while closing");
      }
    }
    this.log.info("publisher stopped");
    this.resolveClosed(error ? { type: "failed", error } : { type: "closed" });
  }

  closed(): Promise<CloseReason> {
    return this.closedPromise;
  }
}
