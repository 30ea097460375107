// What the subscriber's pure parts (the session machine and the intake) ask
// the wiring (subscriber.ts) to do: send a frame, pause or resume PUB, hand
// records to the deliverer, adopt an outbox, stop, log. Data, no behaviour.

import type { WelcomeFrame } from "../wire/frames.js";
import type { Grant } from "./credit.js";
import type { Released } from "./deliverer.js";

export type IntakeAction =
  /** Hand these entries, in chain order, to the deliverer. */
  | { type: "deliver"; entries: Released[] }
  /** Stop taking PUB's records; `first` when it was not paused already. */
  | { type: "pausePub"; first: boolean; seq: number; position: number; bytesHeld: number }
  /** Take PUB's records again: caught up with where it was, or a new session. */
  | { type: "resumePub"; caughtUp: boolean; position: number };

/** Where actions go (the caller's list of its own actions). */
export interface ActionSink {
  push(action: IntakeAction): unknown;
}

export type SessionAction =
  | IntakeAction
  /** A hello from our position (or, with no state yet, `start`); `challenge` is the nonce to prove our key over (null: no proof yet). */
  | { type: "hello"; from: number; outbox: string | null; credit: number; challenge: Uint8Array | null; start?: string }
  | { type: "heartbeat"; seq: number }
  /** The stream stalled below the head: ask for it again from our position. */
  | { type: "fetch"; from: number; head: number; credit: number }
  | { type: "credit"; grant: Grant }
  | { type: "ack"; seq: number }
  /** A session started: follow what the welcome says. */
  | { type: "session"; welcome: WelcomeFrame }
  /** Our first session resolved our start point: from now on we follow `outbox`, from `position` (the state records all three at once). */
  | { type: "startAt"; outbox: string; start: string; position: number }
  /** From now on we follow this outbox (the state records it, from position 0). */
  | { type: "adoptOutbox"; outbox: string }
  | { type: "lost"; why: string; position: number }
  /** Nothing will change by going on: stop with this error. */
  | { type: "fail"; error: Error }
  /** Time to read the dead-letter store (its count goes with the next heartbeat). */
  | { type: "checkDeadLetters" }
  | { type: "log"; level: "debug" | "warn" | "error"; msg: string; fields: Record<string, unknown> };

