// The frames of the mq-archive wire protocol, version 2 (version 1 had a
// hello proof that did not answer a challenge: a peer of either version
// gets BAD_VERSION from the other, never a silent misunderstanding).
//
// Every ZeroMQ message is one msgpack header part, followed by the raw
// message body as a second part for `data` frames only:
//
//   +---------------------------+-------------------------+
//   | part 0: header (msgpack)  | part 1: body (raw bytes) |
//   | { v: 2, t: "data", ... }  | only when t == "data"    |
//   +---------------------------+-------------------------+
//
// On the ROUTER the socket adds the peer's routing id in front; the
// transport strips it before the codec sees the parts.
//
// Delivery is a chain: each `data` frame names the seq it follows in the
// receiver's stream (`prev`). A receiver applies a record only when `prev`
// equals its own position, so a lost frame is always noticed.
//
// A peer whose hello says `batches` may be sent `batch` frames (on ROUTER;
// on PUB while every pub-mode peer said so): several records in one
// message, their headers in one list and their bodies back to back in the
// second part. Each record keeps its own `prev`, so a batch is exactly the
// data frames it stands for.
//
//   +----------------------------------------------+---------------------------+
//   | part 0: { v: 2, t: "batch", recs: [          | part 1: body 1 ‖ body 2 ‖ |
//   |   [seq, prev, kind, list, mid, at, size], …]} | … (sizes from recs)       |
//   +----------------------------------------------+---------------------------+

import type { BodyRecord } from "../message/record.js";
import type { VerifyFrame } from "./verify-frames.js";

export type * from "./verify-frames.js";

export const PROTOCOL_VERSION = 2;
export const SUPPORTED_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

/** The largest header part a peer may send; bodies travel separately. */
export const MAX_HEADER_BYTES = 64 * 1024;

/** The most records one batch frame may carry. */
export const MAX_BATCH_RECORDS = 1024;


/** Subscriber → publisher: start (or restart) a session. */
export interface HelloFrame {
  type: "hello";
  /** The peer's stable identity (its public key once CURVE is on). */
  peer: string;
  /** Human-readable name for logs and status. */
  name: string;
  /** Everything at or below this seq is stored by the peer. */
  from: number;
  /** The outbox the peer has been following, or null for a new peer. */
  outbox: string | null;
  /** Lists the peer wants; null means every list it may receive. */
  lists: string[] | null;
  /** Bytes of data the publisher may send before more credit arrives. */
  credit: number;
  /** Proof of possession of the peer's key, for this connection's challenge; empty when insecure or not yet challenged. */
  proof: Uint8Array;
  /** The peer accepts `batch` frames (absent: send `data` frames only). */
  batches?: true;
  /**
   * Where a peer with no state starts (start-point.ts: "new", "seq:N",
   * "time:ISO-8601"; absent: from the first retained record). Heeded only
   * with `from` 0 and no outbox; the welcome's `from` says where it resolved.
   */
  start?: string;
  /**
   * A `verify` run's session (verify/client.ts): it asks verify questions
   * only, streams nothing, and leaves the peer's own session, position and
   * lists alone, so it may run beside the peer's `subscribe`.
   */
  verify?: true;
}

export type DeliveryMode = "pub" | "router";

/** Publisher → subscriber: the session is open. */
export interface WelcomeFrame {
  type: "welcome";
  outbox: string;
  /** Highest committed seq. */
  head: number;
  /** Oldest retained seq (0 when the outbox is empty). */
  first: number;
  /** Where the publisher starts the peer's stream (the `prev` of its first record): the hello's `from`, or where its `start` resolved. */
  from: number;
  /** "pub": follow the PUB socket when caught up; "router": everything comes over ROUTER. */
  mode: DeliveryMode;
  /** The PUB endpoint the publisher bound, when mode is "pub". */
  pub: string | null;
  /** Heartbeat interval in milliseconds. */
  heartbeat: number;
}

/** Subscriber → publisher: stream records after `from` until caught up. */
export interface FetchFrame {
  type: "fetch";
  from: number;
  /** Replaces the outstanding credit (bytes). */
  credit: number;
}

/** Subscriber → publisher: more room for data, in bytes. */
export interface CreditFrame {
  type: "credit";
  bytes: number;
}

/** Subscriber → publisher: everything at or below `seq` is safely stored. */
export interface AckFrame {
  type: "ack";
  seq: number;
}

/** Publisher → subscriber: one record, chained after `prev` in the receiver's stream. */
export interface DataFrame extends BodyRecord {
  type: "data";
  prev: number;
}

/** Publisher → subscriber, to a peer that accepts them: several records in one message. */
export interface BatchFrame {
  type: "batch";
  records: DataFrame[];
}

/** Both ways. The publisher's carries the head so a lost last record is noticed. */
export interface HeartbeatFrame {
  type: "hb";
  /** Publisher: head seq. Subscriber: its stored position. */
  seq: number;
  /** Subscriber: how many records wait in its dead-letter store (shown in the publisher's status). */
  dead?: number;
}

/**
 * Publisher → subscriber, in answer to a hello without a valid proof: prove
 * your key for this connection (the next hello's `proof` is made over
 * `nonce`, see security/proof.ts). Each connection gets its own nonce, so a
 * proof never serves on another.
 */
export interface ChallengeFrame {
  type: "challenge";
  nonce: Uint8Array;
}

/** Publisher → subscriber: a request was refused. */
export interface ErrorFrame {
  type: "err";
  code: string;
  message: string;
  /** Machine-readable detail, e.g. the publisher's outbox id for OUTBOX_MISMATCH. */
  detail: string | null;
}

/**
 * Publisher → subscriber, in a filtered stream: nothing for you in
 * (prev, seq]. Moves the peer's position past records of lists it does not
 * receive, so its acks (and pruning) keep up.
 */
export interface PassFrame {
  type: "pass";
  seq: number;
  prev: number;
}

/** Either side: the session ends now. */
export interface ByeFrame {
  type: "bye";
}

export type Frame =
  | HelloFrame
  | WelcomeFrame
  | FetchFrame
  | CreditFrame
  | AckFrame
  | DataFrame
  | BatchFrame
  | HeartbeatFrame
  | ChallengeFrame
  | ErrorFrame
  | PassFrame
  | ByeFrame
  | VerifyFrame;
