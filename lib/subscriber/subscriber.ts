// The subscribe engine: one session with the publisher at a time, records
// from ROUTER and PUB joined into one chain, stored by the sinks in order,
// acknowledged once committed. Repairs itself: a gap or a silent stream
// brings a fetch from its position, a silent publisher a new hello.

import { hostname } from "node:os";
import { ConfigError, SinkError, StateError, StateMachineError, errorMessage } from "../errors.js";
import { silentLogger, type Logger } from "../log.js";
import { HandlerSink, type RecordHandler } from "../sinks/handler.js";
import type { Sink, SinkRecord } from "../sinks/sink.js";
import { SubscriberState } from "../store/state.js";
import { fingerprint, type KeyPair } from "../security/keys.js";
import { patternsProblem } from "../security/list-match.js";
import { makeProof } from "../security/proof.js";
import type { BatchFrame, DataFrame, ErrorFrame, Frame, WelcomeFrame } from "../wire/frames.js";
import { Deliverer, type Released } from "./deliverer.js";
import { IteratorSink, type Delivery } from "./iterator.js";
import { CreditWindow } from "./credit.js";
import { aheadError, malformedOutboxError, replacedError, stopError, type Followed } from "./outbox-identity.js";
import { wireErrorAction } from "../wire/errors.js";
import { settleHeldBodies, type HeldBody } from "./held-bodies.js";
import { Link, type Source } from "./link.js";
import { ReorderBuffer, type ChainEntry, type OfferResult } from "./reorder.js";

export interface SubscriberOptions {
  /** The publisher's ROUTER endpoint. */
  connect: string;
  /** A state file path (opened and closed here) or an open SubscriberState. */
  state: string | SubscriberState;
  /** Where records go. With neither sinks nor handler, iterate the subscriber. */
  sinks?: Sink[];
  handler?: RecordHandler;
  /** Only these lists (default: all the publisher allows). */
  lists?: string[] | null;
  name?: string;
  /** Bytes the publisher may send ahead of what is stored. */
  creditBytes?: number;
  heartbeatMs?: number;
  /** Attempts for a permanently failing record before it is dead-lettered. */
  maxAttempts?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Follow this outbox id if the publisher's outbox was replaced. */
  acceptOutbox?: string;
  /** This peer's CURVE keys and the publisher's public key; absent means plaintext (--insecure). */
  security?: { keys: KeyPair; serverKey: string };
  log?: Logger;
}

/** What arrived and what became of it, for logs, status and tests. */
export interface SubscriberCounters {
  /** Data frames received over PUB (live) and ROUTER (catch-up, repair, filtered). */
  fromPub: number;
  fromRouter: number;
  duplicates: number;
  /** Frames not held because the reorder buffer was full (fetched again later). */
  dropped: number;
  /** Times PUB was paused: we were too far behind it to hold what it sent. */
  pubPauses: number;
  fetches: number;
  hellos: number;
  /** Malformed frames received, ignored. */
  badFrames: number;
}

export type SubscriberCloseReason = { type: "closed" } | { type: "failed"; error: Error };

interface Entry extends ChainEntry {
  source: Source;
  creditEpoch: number;
  item: Released;
}

interface Session {
  mode: WelcomeFrame["mode"];
  heartbeatMs: number;
}

const TICK_MS = 50;
const STALL_MS = 200;

export class Subscriber implements AsyncIterable<Delivery> {
  readonly log: Logger;
  private readonly credit: CreditWindow;
  private readonly heartbeatMs: number;
  private state!: SubscriberState;
  private sinks: Sink[] = [];
  private iterator: IteratorSink | null = null;
  private link: Link | null = null;
  private deliverer: Deliverer | null = null;
  private reorder!: ReorderBuffer<Entry>;
  private timer: NodeJS.Timeout | null = null;
  /** Makes the proof that answers a publisher's challenge (null: insecure, never challenged). */
  private readonly prove: ((nonce: Uint8Array) => Uint8Array) | null;

  private session: Session | null = null;
  private committed = 0;
  private knownHead = 0;
  private lastHeard = 0;
  private lastHelloAt = 0;
  private helloDelay = 100;
  private lastHeartbeatAt = 0;
  private lastProgressAt = 0;
  private lastRouterDataAt = 0;
  private lastFetchAt = 0;
  private lastRetryCheckAt = 0;
  private deadLetters = 0;
  private fetchDelay = 250;
  /** PUB is paused until our position reaches this seq (0: not paused). */
  private pubPausedUntil = 0;

  readonly counters: SubscriberCounters = { fromPub: 0, fromRouter: 0, duplicates: 0, dropped: 0, pubPauses: 0, fetches: 0, hellos: 0, badFrames: 0 };
  private started = false;
  private closing: Promise<void> | null = null;
  private resolveClosed!: (reason: SubscriberCloseReason) => void;
  private readonly closedPromise = new Promise<SubscriberCloseReason>((r) => (this.resolveClosed = r));

  constructor(private readonly options: SubscriberOptions) {
    this.log = options.log ?? silentLogger();
    this.credit = new CreditWindow(options.creditBytes ?? 8 * 1024 * 1024);
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    const s = options.security;
    this.prove = s ? (nonce) => makeProof(s.keys, s.serverKey, nonce) : null;
  }

  /** Open the state, start the sinks (repairing what a crash left) and connect. */
  async start(): Promise<void> {
    if (this.started) throw new StateMachineError("subscriber already started");
    this.started = true;
    try {
      await this.open();
    } catch (err) {
      await this.close(err as Error);
      throw err;
    }
  }

  private async open(): Promise<void> {
    const o = this.options;
    this.state = typeof o.state === "string" ? SubscriberState.open(o.state, { daemon: true }) : o.state;
    const problem = this.state.check();
    if (problem !== null) throw new StateError("STATE_CORRUPT", `subscriber state ${this.state.path} is corrupt: ${problem}`);
    this.committed = this.state.position;
    const tooMany = o.lists ? patternsProblem(o.lists) : null;
    if (tooMany !== null) throw new ConfigError(`--lists: ${tooMany}`);
    this.noteListChange(o.lists ?? null);
    this.sinks = this.chooseSinks();
    for (const sink of this.sinks) await this.startSink(sink);
    this.reorder = new ReorderBuffer<Entry>(this.committed, { maxEntries: 20_000, maxBytes: 16 * 1024 * 1024 });
    this.deliverer = new Deliverer({
      state: this.state,
      sinks: this.sinks,
      log: this.log.child({ component: "deliverer" }),
      maxAttempts: o.maxAttempts ?? 5,
      ...(o.retryMinMs === undefined ? {} : { retryMinMs: o.retryMinMs }),
      ...(o.retryMaxMs === undefined ? {} : { retryMaxMs: o.retryMaxMs }),
      onStored: (entries) => {
        for (const e of entries) if (e.tag) this.release(e.tag as Entry);
      },
      onCommitted: (position) => this.committedUpTo(position),
      onFatal: (err) => void this.close(err),
    });
    this.link = this.createLink();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.log.info(
      { connect: o.connect, peer: this.peerId, outbox: this.state.outboxId, position: this.committed },
      "subscriber started",
    );
    // The hello goes out when the connection's handshake completes (or the tick's retry).
    this.lastHelloAt = Date.now();
  }

  /**
   * Start a sink, waiting out temporary trouble (a full disk, a directory
   * not there yet): a peer that cannot store now pauses, it does not exit.
   */
  private async startSink(sink: Sink): Promise<void> {
    for (let delay = 100; ; delay = Math.min(delay * 2, 30_000)) {
      try {
        await sink.start({
          journal: this.state.journal(sink.name),
          committed: this.committed,
          position: () => this.committed,
          commits: () => this.state.commits,
          outbox: this.state.outboxId,
          log: this.log.child({ sink: sink.name }),
        });
        return;
      } catch (err) {
        if (!(err instanceof SinkError && err.transient) || this.closing) throw err;
        this.log.warn({ sink: sink.name, err, retryInMs: delay }, "sink cannot start yet; waiting");
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private createLink(): Link {
    const s = this.options.security;
    return new Link({
      connect: this.options.connect,
      heartbeatMs: this.heartbeatMs,
      ...(s ? { curve: { publicKey: s.keys.publicKey, secretKey: s.keys.secretKey, serverKey: s.serverKey } } : {}),
      ...(s ? { keyName: fingerprint(s.keys.publicKey) } : {}),
      log: this.log.child({ component: "link" }),
      counters: this.counters,
      handlers: {
        onFrame: (frame, source) => this.onFrame(frame, source),
        onBatch: (records, source) => this.onBatch(records, source),
        onConnection: (up) => this.onConnection(up),
        onSocketError: (err) => void this.close(err),
      },
    });
  }

  private chooseSinks(): Sink[] {
    const o = this.options;
    const sinks = [...(o.sinks ?? [])];
    if (o.handler) sinks.push(new HandlerSink(o.handler));
    if (sinks.length === 0) {
      this.iterator = new IteratorSink();
      sinks.push(this.iterator);
    }
    return sinks;
  }

  private noteListChange(lists: string[] | null): void {
    const before = this.state.lists;
    if (JSON.stringify(before) !== JSON.stringify(lists) && this.committed > 0) {
      this.log.warn(
        { before: before ?? "all", now: lists ?? "all", position: this.committed },
        "the list filter changed: lists added now are received from the current position on, not backfilled",
      );
    }
    this.state.setLists(lists);
  }

  get peerId(): string {
    return this.options.security?.keys.publicKey ?? this.state.peerId;
  }

  /** Whether a session with the publisher is open. */
  get connected(): boolean {
    return this.session !== null;
  }

  /** Everything at or below this seq is stored and committed. */
  get position(): number {
    return this.committed;
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    const iterator = this.iterator;
    if (iterator === null) throw new StateMachineError("this subscriber stores through sinks or a handler; it cannot be iterated");
    return {
      next: () => iterator.next(),
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  // ---- frames ------------------------------------------------------------

  private onBatch(records: readonly DataFrame[], source: Source): void {
    const now = this.heard(source);
    if (now === null) return;
    // The records held for a gap share the batch's part: they keep it, or get copies (see held-bodies.ts).
    const held: HeldBody[] = [];
    let split = false;
    for (const record of records) {
      const offered = this.onData(record, source, now);
      if (offered?.result === "held") held.push(offered.record);
      if (offered?.result === "dropped") split = true;
    }
    settleHeldBodies(held, { split });
  }

  /** A frame arrived: the time, or null when closing (it is ignored). */
  private heard(source: Source): number | null {
    if (this.closing) return null;
    const now = Date.now();
    if (source === "router") this.lastHeard = now;
    return now;
  }

  private onFrame(frame: Exclude<Frame, BatchFrame>, source: Source): void {
    const now = this.heard(source);
    if (now === null) return;
    switch (frame.type) {
      case "welcome":
        this.onWelcome(frame, now);
        return;
      case "data": {
        const offered = this.onData(frame, source, now);
        if (offered?.result === "held") settleHeldBodies([offered.record]);
        return;
      }
      case "pass":
        if (this.session) {
          this.lastRouterDataAt = now;
          this.offer({ seq: frame.seq, prev: frame.prev, bytes: 0, source, creditEpoch: this.credit.epoch, item: { type: "pass", seq: frame.seq } }, now);
        }
        return;
      case "hb":
        this.knownHead = Math.max(this.knownHead, frame.seq);
        return;
      case "challenge":
        this.onChallenge(frame.nonce);
        return;
      case "err":
        this.onError(frame);
        return;
      case "bye":
        this.sessionLost("the publisher is shutting down");
        return;
      default:
        this.log.debug({ type: frame.type }, "ignored an unexpected frame");
    }
  }

  private onWelcome(w: WelcomeFrame, now: number): void {
    const malformed = malformedOutboxError(w.outbox); // it names files: a hostile publisher's "../x" must not
    if (malformed !== null) return this.fail(malformed);
    const known = this.state.outboxId;
    if (known === null) this.state.adoptOutbox(w.outbox);
    else if (known !== w.outbox) return this.fail(replacedError(this.followed(), w.outbox));
    if (w.head < this.committed) return this.fail(aheadError(this.followed(), w.head));
    this.session = { mode: w.mode, heartbeatMs: w.heartbeat || this.heartbeatMs };
    this.pubPausedUntil = 0; // a new session (perhaps of a new outbox) starts with PUB taken: a seq paused at may never come
    this.link?.pausePub(false);
    this.lastHeard = now;
    this.lastProgressAt = now;
    this.knownHead = Math.max(this.knownHead, w.head);
    this.helloDelay = 100;
    this.link?.accepted();
    if (w.mode === "pub" && w.pub !== null) this.link?.followPub(w.pub);
    else this.link?.unfollowPub();
    if (this.committed > 0 && w.first > this.committed + 1) {
      this.log.error({ position: this.committed, first: w.first }, "records after our position were pruned before we stored them");
    }
    this.log.info({ outbox: w.outbox, head: w.head, from: w.from, mode: w.mode }, "session with the publisher started");
  }

  /** Offer a record to the reorder buffer: what became of it, or null when there is no session to take it. */
  private onData(frame: DataFrame, source: Source, now: number): { result: OfferResult; record: SinkRecord } | null {
    if (this.session === null || this.state.outboxId === null) return null;
    if (source === "pub") this.counters.fromPub++;
    else this.counters.fromRouter++;
    if (source === "router") this.lastRouterDataAt = now;
    this.credit.received(frame.body.length, source);
    this.knownHead = Math.max(this.knownHead, frame.seq);
    const record = {
      outbox: this.state.outboxId,
      seq: frame.seq,
      kind: frame.kind,
      list: frame.list,
      messageId: frame.messageId,
      receivedAt: frame.receivedAt,
      body: frame.body,
    };
    const result = this.offer(
      { seq: frame.seq, prev: frame.prev, bytes: frame.body.length, source, creditEpoch: this.credit.epoch, item: { type: "record", record } },
      now,
    );
    return { result, record };
  }

  private offer(entry: Entry, now: number): OfferResult {
    const result = this.reorder.offer(entry, (e) => this.release(e));
    if (result === "duplicate") this.counters.duplicates++;
    if (result === "dropped") this.counters.dropped++;
    const tooFarBehind = result === "dropped" || this.credit.pubBytesHeld > this.pubMaxHeld;
    if (entry.source === "pub" && tooFarBehind) this.pausePub(entry.seq);
    if (result === "duplicate" || result === "dropped") this.release(entry);
    if (result !== "released") return result;
    const ready = this.reorder.take();
    for (const e of ready) e.item.tag = e;
    this.deliverer?.push(ready.map((e) => e.item));
    this.lastProgressAt = now;
    this.fetchDelay = 250;
    this.resumePubIfDue();
    return result;
  }

  /** PUB records in memory beyond this mean the sinks are slow: four credit windows (a publisher's burst fits). */
  private get pubMaxHeld(): number {
    return 4 * this.credit.window;
  }

  /**
   * PUB is further ahead than we can hold: its records no longer fit the
   * reorder buffer, or those in memory pass pubMaxHeld (the sinks are
   * slow). Taking more would only grow memory or be dropped, so stop taking
   * them until we have caught up to where PUB was; the ROUTER stream, paced
   * by credit, fills the gap meanwhile.
   */
  private pausePub(seq: number): void {
    if (this.pubPausedUntil === 0) {
      this.counters.pubPauses++;
      this.log.debug({ position: this.reorder.position, pub: seq, bytesHeld: this.credit.pubBytesHeld }, "too far behind PUB; pausing it");
    }
    this.pubPausedUntil = Math.max(this.pubPausedUntil, seq);
    this.link?.pausePub(true);
  }

  private resumePubIfDue(): void {
    if (this.pubPausedUntil === 0 || this.reorder.position < this.pubPausedUntil) return;
    if (this.credit.pubBytesHeld > this.pubMaxHeld / 2) return;
    this.pubPausedUntil = 0;
    this.link?.pausePub(false);
    this.log.debug({ position: this.reorder.position }, "caught up with PUB; taking it again");
  }

  /** The publisher asks us to prove our key on this connection: the hello again, with the proof. */
  private onChallenge(nonce: Uint8Array): void {
    if (this.prove === null) {
      this.log.warn("the publisher asks for a key proof, but we run without keys (--insecure)");
      return;
    }
    if (this.session === null) this.sendHello(this.prove(nonce));
  }

  /** What an `err` frame means is the wire's table (wire/errors.ts); here, what each action does. */
  private onError(e: ErrorFrame): void {
    if (e.code === "OUTBOX_MISMATCH" && this.acceptNewOutbox(e.detail)) return;
    switch (wireErrorAction(e.code)) {
      case "stop":
        return this.fail(stopError(e, this.followed()));
      case "hello":
        if (this.session) this.sessionLost("the publisher does not know this session");
        this.helloSoon();
        return;
      case "retry":
        this.log.warn({ code: e.code, reason: e.message, retryInMs: this.helloDelay }, "the publisher asks us to wait");
        return;
      case "log":
        this.log.warn({ code: e.code, reason: e.message }, "the publisher reported an error");
    }
  }

  /** --accept-outbox names the publisher's new outbox: follow it from the start. */
  private acceptNewOutbox(outbox: string | null): boolean {
    if (outbox === null || outbox !== this.options.acceptOutbox || (this.deliverer?.inFlight ?? 0) > 0) return false;
    this.log.warn({ from: this.state.outboxId, to: outbox }, "following the new outbox (--accept-outbox)");
    this.state.adoptOutbox(outbox);
    this.committed = 0;
    this.reorder.reset(0, (x) => this.release(x));
    this.sendHello();
    return true;
  }

  private followed(): Followed {
    return { outbox: this.state.outboxId, position: this.committed };
  }

  private onConnection(up: boolean): void {
    if (this.closing) return;
    if (this.session) this.sessionLost(up ? "reconnected" : "connection lost");
    if (up) this.sendHello();
  }

  // ---- flow control ------------------------------------------------------

  /** A record left memory (stored, or not kept): return its credit if the publisher counts it. */
  private release(entry: Entry): void {
    if (this.credit.release(entry)) this.flushCredit();
    if (entry.source === "pub") this.resumePubIfDue();
  }

  private flushCredit(): void {
    if (this.session === null) return;
    const grant = this.credit.take();
    if (grant !== null) this.link?.send({ type: "credit", bytes: grant.bytes }, () => this.credit.unsent(grant));
  }

  private committedUpTo(position: number): void {
    this.committed = position;
    if (this.session) this.link?.send({ type: "ack", seq: position });
  }

  /** A hello: without a proof first, which the publisher answers with a challenge when it has keys. */
  private sendHello(proof: Uint8Array = new Uint8Array(0)): void {
    if (this.closing || this.link === null) return;
    this.lastHelloAt = Date.now();
    this.counters.hellos++;
    const credit = this.credit.restart();
    this.link.send({
      type: "hello",
      peer: this.peerId,
      name: this.options.name ?? hostname(),
      from: this.committed,
      outbox: this.state.outboxId,
      lists: this.options.lists ?? null,
      credit,
      proof,
      batches: true,
    });
  }

  private helloSoon(): void {
    this.lastHelloAt = 0;
  }

  private sessionLost(why: string): void {
    if (this.session === null) return;
    this.session = null;
    this.helloDelay = 100;
    this.log.info({ why, position: this.committed }, "session with the publisher ended; reconnecting");
  }

  private tick(): void {
    if (this.closing) return;
    const now = Date.now();
    if (now - this.lastRetryCheckAt >= 1000) this.checkDeadLetters(now);
    if (this.session === null) {
      if (now - this.lastHelloAt >= this.helloDelay) {
        this.sendHello();
        this.helloDelay = Math.min(this.helloDelay * 2, this.heartbeatMs * 2);
      }
      return;
    }
    const hb = this.session.heartbeatMs;
    if (now - this.lastHeard > hb * 3 + 500) {
      this.sessionLost("the publisher went silent");
      return;
    }
    if (now - this.lastHeartbeatAt >= hb) {
      this.lastHeartbeatAt = now;
      this.link?.send({ type: "hb", seq: this.committed, dead: this.deadLetters });
    }
    this.flushCredit();
    this.repairIfStalled(now);
  }

  /** Pick up retries that `mq-archive dead-letters retry` asked for, and keep the count the publisher shows. */
  private checkDeadLetters(now: number): void {
    this.lastRetryCheckAt = now;
    try {
      this.deadLetters = this.state.deadLetterCount();
      if (this.state.pendingRetries().length > 0) this.deliverer?.requestRetries();
    } catch (err) {
      this.log.error({ err }, "cannot read the dead-letter store");
    }
  }

  /**
   * Ask for the stream again when records exist that we do not have, nothing
   * has moved for a while, and the publisher is not sending: a lost live
   * frame, a lost last record, or a publisher that lost track of us.
   */
  private repairIfStalled(now: number): void {
    const position = this.reorder.position;
    if (position >= this.knownHead) return;
    if (now - this.lastProgressAt < STALL_MS || now - this.lastRouterDataAt < 100) return;
    if (this.credit.congested) return; // we are the slow part, not the stream
    if (now - this.lastFetchAt < this.fetchDelay) return;
    this.lastFetchAt = now;
    this.counters.fetches++;
    this.fetchDelay = Math.min(this.fetchDelay * 2, (this.session?.heartbeatMs ?? 1000) * 2);
    this.log.debug({ from: position, head: this.knownHead }, "stream stalled; fetching");
    this.link?.send({ type: "fetch", from: position, credit: this.credit.restart() });
  }

  // ---- lifecycle ---------------------------------------------------------

  private fail(error: Error): void {
    this.log.error({ err: error }, error.message);
    void this.close(error);
  }

  close(error?: Error): Promise<void> {
    this.closing ??= this.shutdown(error);
    return this.closing;
  }

  private async shutdown(error?: Error): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.session) this.link?.send({ type: "bye" });
    const steps: Array<() => unknown> = [
      () => this.iterator?.close(),
      () => this.deliverer?.close(),
      () => this.link?.close(),
      ...this.sinks.filter((s) => s !== this.iterator).map((s) => () => s.close()),
      () => (typeof this.options.state === "string" ? this.state?.close() : undefined),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, "error while closing");
      }
    }
    this.log.info({ position: this.committed, counters: this.counters }, error ? "subscriber stopped on error" : "subscriber stopped");
    this.resolveClosed(error ? { type: "failed", error } : { type: "closed" });
  }

  closed(): Promise<SubscriberCloseReason> {
    return this.closedPromise;
  }
}
