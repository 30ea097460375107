// The subscribe engine: one session with the publisher at a time, records
// from ROUTER and PUB joined into one chain, stored by the sinks in order,
// acknowledged once committed. What to do and when is the session machine's
// (session-machine.ts, pure); this file wires it to the sockets (link.ts),
// the state, the sinks and the deliverer, and performs its actions.

import { hostname } from "node:os";
import { ConfigError, SinkError, StateError, StateMachineError } from "../errors.js";
import { silentLogger, type Logger } from "../log.js";
import { HandlerSink } from "../sinks/handler.js";
import type { Sink } from "../sinks/sink.js";
import { SubscriberState } from "../store/state.js";
import { fingerprint } from "../security/keys.js";
import { patternsProblem } from "../security/list-match.js";
import { makeProof } from "../security/proof.js";
import type { WelcomeFrame } from "../wire/frames.js";
import type { SessionAction } from "./actions.js";
import { newCounters, type SinkStats, type SubscriberCounters } from "./counters.js";
import { Deliverer } from "./deliverer.js";
import { IteratorSink, type Delivery } from "./iterator.js";
import { Link } from "./link.js";
import type { CurveClient } from "../transport/zmq.js";
import { Lifecycle, runCloseSteps } from "../lifecycle.js";
import { upstreamsOf, type SubscriberCloseReason, type SubscriberOptions, type Upstream } from "./options.js";
import { SessionMachine, TICK_MS } from "./session-machine.js";
import { DEFAULT_FAILOVER, Failover } from "./failover.js";
import { SinkProblems } from "./sink-problems.js";
import { startChoice } from "./start-choice.js";

export type { SinkStats, SubscriberCounters } from "./counters.js";
export type { SubscriberCloseReason, SubscriberOptions } from "./options.js";

export class Subscriber implements AsyncIterable<Delivery> {
  readonly log: Logger;
  readonly counters: SubscriberCounters = newCounters();
  private readonly heartbeatMs: number;
  private state!: SubscriberState;
  private sinks: Sink[] = [];
  private iterator: IteratorSink | null = null;
  private machine: SessionMachine | null = null;
  private link: Link | null = null;
  private deliverer: Deliverer | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Records in the dead-letter store, as last read (the publisher shows it from our heartbeats). */
  private deadLetters = 0;

  private readonly lifecycle = new Lifecycle("subscriber");
  /** The endpoints, in order of preference; `failover` says which is in use. */
  private readonly upstreams: Upstream[];
  private readonly failover: Failover;

  constructor(private readonly options: SubscriberOptions) {
    this.log = options.log ?? silentLogger();
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.upstreams = upstreamsOf(options);
    this.failover = new Failover(this.upstreams.length, options.failover ?? DEFAULT_FAILOVER, Date.now());
  }

  /** Open the state, start the sinks (repairing what a crash left) and connect. */
  async start(): Promise<void> {
    this.lifecycle.begin();
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
    const machine = new SessionMachine({
      position: this.state.position,
      outbox: this.state.outboxId,
      heartbeatMs: this.heartbeatMs,
      creditBytes: o.creditBytes ?? 8 * 1024 * 1024,
      acceptOutbox: o.acceptOutbox,
      start: startChoice(this.state, o.start, this.log),
      keyed: o.security !== undefined,
      counters: this.counters,
    });
    this.machine = machine;
    const tooMany = o.lists ? patternsProblem(o.lists) : null;
    if (tooMany !== null) throw new ConfigError(`--lists: ${tooMany}`);
    this.noteListChange(o.lists ?? null);
    this.sinks = this.chooseSinks();
    const problems = new SinkProblems(this.state, this.log);
    problems.reset();
    for (const sink of this.sinks) await this.startSink(sink, problems);
    this.deliverer = new Deliverer({
      state: this.state,
      sinks: this.sinks,
      log: this.log.child({ component: "deliverer" }),
      maxAttempts: o.maxAttempts ?? 5,
      paused: (sink) => problems.has(sink),
      ...(o.retryMinMs === undefined ? {} : { retryMinMs: o.retryMinMs }),
      ...(o.retryMaxMs === undefined ? {} : { retryMaxMs: o.retryMaxMs }),
      moreComing: (position) => machine.view.head > position,
      onStored: (count) => this.perform(machine.stored(count)),
      onCommitted: (position) => this.perform(machine.committedUpTo(position)),
      onFatal: (err) => void this.close(err),
      ...(o.onStoreTime ? { onStoreTime: o.onStoreTime } : {}),
    });
    this.link = this.createLink(machine);
    this.timer = setInterval(() => this.lifecycle.isClosing || this.tick(machine, Date.now()), TICK_MS);
    this.log.info(
      { connect: this.upstreams.map((u) => u.connect), peer: this.peerId, outbox: this.state.outboxId, position: this.position },
      "subscriber started",
    );
    machine.started(Date.now());
  }

  /**
   * Start a sink, waiting out temporary trouble (a full disk, a directory
   * not there yet): a peer that cannot store now pauses, it does not exit.
   */
  private async startSink(sink: Sink, problems: SinkProblems): Promise<void> {
    for (let delay = 100; ; delay = Math.min(delay * 2, 30_000)) {
      try {
        await sink.start({
          journal: this.state.journal(sink.name),
          committed: this.position,
          position: () => this.position,
          commits: () => this.state.commits,
          outbox: this.state.outboxId,
          log: this.log.child({ sink: sink.name }),
          problem: (text) => problems.report(sink.name, text),
        });
        return;
      } catch (err) {
        if (!(err instanceof SinkError && err.transient) || this.lifecycle.isClosing) throw err;
        this.log.warn({ sink: sink.name, err, retryInMs: delay }, "sink cannot start yet; waiting");
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private tick(machine: SessionMachine, now: number): void {
    this.perform(machine.tick(now));
    const next = this.failover.tick(now, machine.connected);
    if (next === null) return;
    const to = this.upstreams[next.index]!;
    this.log.info({ connect: to.connect, why: next.why }, "moving to another endpoint");
    this.link?.retarget(to.connect, this.curveFor(to));
  }

  private curveFor(u: Upstream): CurveClient | undefined {
    const s = this.options.security;
    return s && u.serverKey !== undefined ? { publicKey: s.keys.publicKey, secretKey: s.keys.secretKey, serverKey: u.serverKey } : undefined;
  }

  /** Frames go to the machine unless closing, when they are ignored. */
  private createLink(machine: SessionMachine): Link {
    const s = this.options.security;
    const first = this.upstreams[0]!;
    const curve = this.curveFor(first);
    return new Link({
      connect: first.connect,
      heartbeatMs: this.heartbeatMs,
      ...(curve ? { curve } : {}),
      ...(s ? { keyName: fingerprint(s.keys.publicKey) } : {}),
      log: this.log.child({ component: "link" }),
      counters: this.counters,
      handlers: {
        onFrame: (frame, source) => this.lifecycle.isClosing || this.perform(machine.frame(frame, source, Date.now(), this.deliverer?.inFlight === 0)),
        onConnection: (up) => this.lifecycle.isClosing || this.perform(machine.connection(up, Date.now())),
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
    if (JSON.stringify(before) !== JSON.stringify(lists) && this.position > 0) {
      this.log.warn(
        { before: before ?? "all", now: lists ?? "all", position: this.position },
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
    return this.machine?.connected ?? false;
  }

  /** Everything at or below this seq is stored and committed. */
  get position(): number {
    return this.machine?.position ?? 0;
  }

  /** The publisher's head as last heard (heartbeats, welcomes, records). */
  get publisherHead(): number {
    return this.machine?.view.head ?? 0;
  }

  /** Per sink: records stored by kind, retries, dead letters, and since when it fails. */
  get sinkStats(): ReadonlyMap<string, SinkStats> {
    return this.deliverer?.sinkStats ?? new Map();
  }

  /** Dead letters in the state file, as last counted. */
  get deadLetterCount(): number {
    return this.deadLetters;
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

  // ---- the machine's actions ---------------------------------------------

  private perform(actions: readonly SessionAction[]): void {
    for (const action of actions) this.act(action);
  }

  private act(a: SessionAction): void {
    const link = this.link!;
    switch (a.type) {
      case "hello":
        return this.sendHello(link, a);
      case "heartbeat":
        return link.send({ type: "hb", seq: a.seq, dead: this.deadLetters });
      case "fetch":
        this.log.debug({ from: a.from, head: a.head }, "stream stalled; fetching");
        return link.send({ type: "fetch", from: a.from, credit: a.credit });
      case "credit":
        return link.send({ type: "credit", bytes: a.grant.bytes }, () => this.machine?.creditUnsent(a.grant));
      case "ack":
        return link.send({ type: "ack", seq: a.seq });
      case "deliver":
        return this.deliverer?.push(a.entries);
      case "pausePub":
        if (a.first) this.log.debug({ position: a.position, pub: a.seq, bytesHeld: a.bytesHeld }, "too far behind PUB; pausing it");
        return link.pausePub(true);
      case "resumePub":
        link.pausePub(false);
        if (a.caughtUp) this.log.debug({ position: a.position }, "caught up with PUB; taking it again");
        return;
      case "session":
        return this.sessionStarted(link, a.welcome);
      case "adoptOutbox":
        return this.state.adoptOutbox(a.outbox);
      case "startAt":
        this.state.recordStart(a.outbox, a.start, a.position);
        void this.state.sync().catch((err: unknown) => this.log.warn({ err }, "cannot fsync the state's start point yet"));
        return this.log.info({ start: a.start, position: a.position }, "first session: starting after the start point's position");
      case "lost":
        return this.log.info({ why: a.why, position: a.position }, "session with the publisher ended; reconnecting");
      case "fail":
        this.log.error({ err: a.error }, a.error.message);
        return void this.close(a.error);
      case "checkDeadLetters":
        return this.checkDeadLetters();
      case "log":
        return this.log[a.level](a.fields, a.msg);
    }
  }

  /** Without a challenge to answer, the proof is empty; the publisher then sends one if it has keys. */
  private sendHello(link: Link, { from, outbox, credit, challenge, start }: Extract<SessionAction, { type: "hello" }>): void {
    const s = this.options.security;
    link.send({
      type: "hello",
      peer: this.peerId,
      name: this.options.name ?? hostname(),
      from,
      outbox,
      lists: this.options.lists ?? null,
      credit,
      proof: s && challenge ? makeProof(s.keys, this.upstreams[this.failover.current]!.serverKey!, challenge) : new Uint8Array(0),
      batches: true,
      ...(start === undefined || start === "all" ? {} : { start }), // `all` is what a hello without one means
    });
  }

  private sessionStarted(link: Link, w: WelcomeFrame): void {
    link.accepted();
    if (w.mode === "pub" && w.pub !== null) link.followPub(w.pub);
    else link.unfollowPub();
    this.log.info({ outbox: w.outbox, head: w.head, from: w.from, mode: w.mode }, "session with the publisher started");
  }

  /** Pick up retries that `mq-archive dead-letters retry` asked for, and keep the count the publisher shows. */
  private checkDeadLetters(): void {
    try {
      this.deadLetters = this.state.deadLetterCount();
      if (this.state.pendingRetries().length > 0) this.deliverer?.requestRetries();
    } catch (err) {
      this.log.error({ err }, "cannot read the dead-letter store");
    }
  }

  // ---- lifecycle ---------------------------------------------------------

  close(error?: Error): Promise<void> {
    return this.lifecycle.close(() => this.shutdown(error), error);
  }

  private async shutdown(error?: Error): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.connected) this.link?.send({ type: "bye" });
    await runCloseSteps(
      [
        () => this.iterator?.close(),
        () => this.deliverer?.close(),
        () => this.link?.close(),
        ...this.sinks.filter((s) => s !== this.iterator).map((s) => () => s.close()),
        () => (typeof this.options.state === "string" ? this.state?.close() : undefined),
      ],
      this.log,
    );
    this.log.info({ position: this.position, counters: this.counters }, error ? "subscriber stopped on error" : "subscriber stopped");
  }

  closed(): Promise<SubscriberCloseReason> {
    return this.lifecycle.closed();
  }
}
