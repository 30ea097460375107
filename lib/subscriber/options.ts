// What a subscriber is given (SubscriberOptions) and how it ends.

import type { Logger } from "../log.js";
import type { RecordHandler } from "../sinks/handler.js";
import type { Sink } from "../sinks/sink.js";
import type { KeyPair } from "../security/keys.js";
import type { SubscriberState } from "../store/state.js";

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
  /**
   * Where a peer with no state starts: "all" (default), "new", "seq:N" or
   * "time:ISO-8601". Recorded in the state; a state with a position ignores it.
   */
  start?: string;
  /** Follow this outbox id if the publisher's outbox was replaced. */
  acceptOutbox?: string;
  /** Each sink's store() call, with how long it took (metrics hook it here). */
  onStoreTime?: (sink: string, seconds: number) => void;
  /** This peer's CURVE keys and the publisher's public key; absent means plaintext (--insecure). */
  security?: { keys: KeyPair; serverKey: string };
  log?: Logger;
}

export type { CloseReason as SubscriberCloseReason } from "../lifecycle.js";
