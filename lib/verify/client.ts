// The peer's side of the verify exchange over the wire: a DEALER that says
// hello with the peer's own key and position (credit 0: nothing is
// streamed), proves its key when challenged, then asks one question at a
// time and waits for its answer. A BUSY answer is waited out and the
// question asked again. It counts the bytes both ways.

import { VerifyError } from "../errors.js";
import { makeProof } from "../security/proof.js";
import type { RangeSum } from "../store/ledger.js";
import { DealerSocket, type CurveClient } from "../transport/zmq.js";
import { decode, encode } from "../wire/codec.js";
import type { DataFrame, Frame, HelloFrame, VerifyEntry, VerifyNamesFrame, VerifyRange } from "../wire/frames.js";
import type { LedgerSide } from "./compare.js";

export interface ClientOptions {
  connect: string;
  /** The peer's id (its public key with CURVE, else the state's peer id). */
  peer: string;
  name: string;
  from: number;
  outbox: string | null;
  lists: string[] | null;
  curve?: CurveClient;
  timeoutMs?: number;
}

type Waiter = { want: Frame["type"]; resolve: (f: Frame) => void; reject: (e: Error) => void };

export class VerifyClient implements LedgerSide {
  private readonly dealer: DealerSocket;
  private waiter: Waiter | null = null;
  private received: DataFrame[] = [];
  private failure: Error | null = null;
  /** Bytes sent and received, every part counted. */
  readonly bytes = { sent: 0, received: 0 };
  /** Time spent waiting out BUSY answers (the publisher's per-key share of its time). */
  waitedMs = 0;
  private outboxId: string | null = null;
  private connected!: () => void;
  private refused!: (err: Error) => void;
  /** Resolves once the connection is up (the DEALER drops what is sent before: immediate); rejects when the key is refused. */
  private readonly up = new Promise<void>((resolve, reject) => {
    this.connected = resolve;
    this.refused = reject;
  });

  constructor(private readonly o: ClientOptions) {
    this.up.catch(() => {}); // observed in open(); a failure after it is reported through the waiter
    this.dealer = DealerSocket.connect(o.connect, {
      heartbeatMs: 0,
      receiveHighWaterMark: 100_000,
      ...(o.curve ? { curve: o.curve } : {}),
      events: {
        onMessage: (parts) => this.receive(parts),
        onConnection: (up) => {
          if (up) this.connected();
        },
        onError: (err) => this.fail(err),
        onHandshakeFailure: (kind, detail) => this.fail(new VerifyError("VERIFY_REFUSED", `the publisher refused the connection (${kind}): ${detail}`)),
      },
    });
  }

  /** The publisher's outbox id, once the session started. */
  get outbox(): string {
    return this.outboxId ?? "";
  }

  /** Start the session: hello, the proof if challenged, welcome. */
  async open(): Promise<void> {
    const timeout = this.o.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.up,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(this.failure ?? new VerifyError("VERIFY_TIMEOUT", `could not connect to ${this.o.connect} within ${timeout} ms`)), timeout);
      }),
    ]).finally(() => clearTimeout(timer));
    let answer = await this.ask(this.hello(null), "welcome", "challenge");
    if (answer.type === "challenge") answer = await this.ask(this.hello(answer.nonce), "welcome");
    if (answer.type === "welcome") this.outboxId = answer.outbox;
  }

  private hello(challenge: Uint8Array | null): HelloFrame {
    const c = this.o.curve;
    const proof = c && challenge ? makeProof({ publicKey: c.publicKey, secretKey: c.secretKey }, c.serverKey, challenge) : new Uint8Array(0);
    return { type: "hello", peer: this.o.peer, name: this.o.name, from: this.o.from, outbox: this.o.outbox, lists: this.o.lists, credit: 0, proof, verify: true };
  }

  /** Every list the publisher holds that this peer may receive, and what it knows of the peer. */
  async lists(): Promise<{ lists: string[]; acked: number; head: number; since: number }> {
    const lists: string[] = [];
    let last: VerifyNamesFrame | null = null;
    for (let after = ""; ; ) {
      last = (await this.ask({ type: "vlists", after }, "vnames")) as VerifyNamesFrame;
      lists.push(...last.lists);
      const tail = last.lists.at(-1);
      if (!last.more || tail === undefined) break;
      after = tail;
    }
    return { lists, acked: last.acked, head: last.head, since: last.since };
  }

  async sums(q: VerifyRange[]): Promise<{ sums: RangeSum[]; split: boolean }> {
    const a = await this.ask({ type: "vsum", q }, "vsums");
    return a.type === "vsums" ? { sums: a.sums, split: a.split } : { sums: [], split: false };
  }

  async entries(list: string, from: number, to: number): Promise<{ entries: VerifyEntry[]; more: boolean }> {
    const a = await this.ask({ type: "ventry", list, from, to }, "ventries");
    return a.type === "ventries" ? { entries: a.entries, more: a.more } : { entries: [], more: false };
  }

  /** The retained records among `seqs` (asked for again until each is sent or named missing), and the missing ones. */
  async get(seqs: readonly number[]): Promise<{ records: DataFrame[]; missing: number[] }> {
    const records = new Map<number, DataFrame>();
    const missing = new Set<number>();
    let left = [...seqs];
    while (left.length > 0) {
      this.received = [];
      const a = await this.ask({ type: "vget", seqs: left }, "vgot");
      for (const r of this.received) records.set(r.seq, r);
      if (a.type === "vgot") for (const s of a.missing) missing.add(s);
      const before = left.length;
      left = left.filter((s) => !records.has(s) && !missing.has(s));
      if (left.length === before) throw new VerifyError("VERIFY_FAILED", `the publisher sent none of records ${left.slice(0, 5).join(", ")}…`);
    }
    return { records: [...records.values()], missing: [...missing] };
  }

  private async ask(frame: Frame, ...want: Array<Frame["type"]>): Promise<Frame> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(frame, want);
      } catch (err) {
        const wait = err instanceof BusyError ? err.waitMs : null;
        if (wait === null || attempt > 100) throw err;
        this.waitedMs += wait;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  private once(frame: Frame, want: Array<Frame["type"]>): Promise<Frame> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new VerifyError("VERIFY_TIMEOUT", `no answer from ${this.o.connect} to ${frame.type} within ${this.o.timeoutMs ?? 10_000} ms`));
      }, this.o.timeoutMs ?? 10_000);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.waiter = null;
        f();
      };
      this.waiter = {
        want: want[0]!,
        resolve: (f) => done(() => (want.includes(f.type) ? resolve(f) : reject(new VerifyError("VERIFY_FAILED", `unexpected ${f.type}`)))),
        reject: (e) => done(() => reject(e)),
      };
      const parts = encode(frame);
      for (const p of parts) this.bytes.sent += p.length;
      this.dealer.send(parts, () => this.waiter?.reject(new VerifyError("VERIFY_FAILED", `could not send to ${this.o.connect}`)));
    });
  }

  private receive(parts: Buffer[]): void {
    for (const p of parts) this.bytes.received += p.length;
    let frame: Frame;
    try {
      frame = decode(parts);
    } catch {
      return; // counted by nobody: a malformed answer ends in a timeout
    }
    const waiter = this.waiter;
    switch (frame.type) {
      case "data":
        this.received.push(frame);
        return;
      case "hb":
      case "pass":
      case "batch":
        return;
      case "err":
        if (frame.code === "BUSY") {
          const ms = Number(/retry in (\d+) ms/.exec(frame.message)?.[1] ?? 1000);
          waiter?.reject(new BusyError(Math.min(ms, 5000)));
          return;
        }
        waiter?.reject(new VerifyError("VERIFY_REFUSED", `the publisher answered ${frame.code}: ${frame.message}`));
        return;
      default:
        waiter?.resolve(frame);
    }
  }

  private fail(err: Error): void {
    this.failure = err;
    this.refused(err);
    this.waiter?.reject(err);
  }

  close(): void {
    try {
      this.dealer.send(encode({ type: "bye" }));
    } catch {
      /* closing anyway */
    }
    this.dealer.close();
  }
}

class BusyError extends Error {
  constructor(readonly waitMs: number) {
    super("busy");
  }
}
