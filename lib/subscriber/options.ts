// What a subscriber is given (SubscriberOptions) and how it ends.

import type { Logger } from "../log.js";
import type { RecordHandler } from "../sinks/handler.js";
import type { Sink } from "../sinks/sink.js";
import type { KeyPair } from "../security/keys.js";
import type { SubscriberState } from "../store/state.js";
import { UsageError } from "../errors.js";
import type { FailoverOptions } from "./failover.js";

export interface SubscriberOptions {
  /**
   * The publisher's ROUTER endpoint; or several, in order of preference
   * (the origin and relays of it: failover.ts), each with its server key
   * in `security.serverKey` at the same index (one key: the same for all).
   */
  connect: string | readonly string[];
  /** When to move to the next endpoint, and back to the first (several endpoints only). */
  failover?: FailoverOptions;
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
  security?: { keys: KeyPair; serverKey: string | readonly string[] };
  log?: Logger;
}

/** An endpoint to connect to, and the server key it must prove (absent: --insecure). */
export interface Upstream {
  connect: string;
  serverKey?: string;
}

/** The endpoints, in order, each with its server key. */
export function upstreamsOf(o: Pick<SubscriberOptions, "connect" | "security">): Upstream[] {
  const endpoints = typeof o.connect === "string" ? [o.connect] : [...o.connect];
  if (endpoints.length === 0) throw new UsageError("give at least one endpoint to connect to");
  const keys = o.security === undefined ? [] : typeof o.security.serverKey === "string" ? [o.security.serverKey] : [...o.security.serverKey];
  if (o.security !== undefined && keys.length !== 1 && keys.length !== endpoints.length) {
    throw new UsageError(`${endpoints.length} endpoints but ${keys.length} server keys: give one --server-key for each --connect, in the same order (or one for all)`);
  }
  return endpoints.map((connect, i) => ({ connect, ...(o.security === undefined ? {} : { serverKey: keys[keys.length === 1 ? 0 : i]! }) }));
}

export type { CloseReason as SubscriberCloseReason } from "../lifecycle.js";
