// What a record is, for every layer: the outbox stores it, the wire carries
// it, sinks store it, dead letters keep it. Each layer extends RecordMeta
// with what only it needs (the body, the chain, the outbox it came from).

/** A posted message, or a list event (list created, owner added, ...). */
export type RecordKind = "message" | "event";

export const RECORD_KINDS: readonly RecordKind[] = ["message", "event"];

/** The metadata every layer shares. */
export interface RecordMeta {
  /** Its place in the outbox: global, never reused. */
  seq: number;
  kind: RecordKind;
  list: string;
  /** The Message-ID (or, for an event, its id): unique per list. */
  messageId: string;
  /** When the outbox committed it, ms since the epoch. */
  receivedAt: number;
}

/** A record with its body, bytes exactly as published. */
export interface BodyRecord extends RecordMeta {
  body: Buffer;
}
