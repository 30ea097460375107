// Error classes with stable codes. Codes travel on the wire and map to exit
// statuses (sysexits.h), so a code never changes once shipped. Callers test
// with `instanceof` or `.code`, never by matching message text.

import type { WireErrorCode } from "./wire/errors.js";

/** sysexits.h values used by the CLI. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CANTCREAT: 73,
  IOERR: 74,
  TEMPFAIL: 75,
  NOPERM: 77,
  CONFIG: 78,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

export abstract class MqArchiveError extends Error {
  abstract readonly code: string;
  readonly exitStatus: ExitStatus = EXIT.SOFTWARE;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command-line or configuration input. */
export class UsageError extends MqArchiveError {
  readonly code = "USAGE";
  override readonly exitStatus = EXIT.USAGE;
}

export class ConfigError extends MqArchiveError {
  readonly code = "CONFIG";
  override readonly exitStatus = EXIT.CONFIG;
}

export type InvalidMessageReason = "EMPTY_MESSAGE" | "NO_HEADERS" | "TOO_LARGE" | "BAD_LIST" | "BAD_EVENT";

/** A message that can never be archived as given: retrying will not help. */
export class InvalidMessageError extends MqArchiveError {
  override readonly exitStatus = EXIT.DATAERR;
  constructor(
    readonly code: InvalidMessageReason,
    message: string,
  ) {
    super(message);
  }
}

export class NoInputError extends MqArchiveError {
  readonly code = "NO_INPUT";
  override readonly exitStatus = EXIT.NOINPUT;
}

/** The outbox database cannot be opened, read or written. */
export class OutboxError extends MqArchiveError {
  override readonly exitStatus: ExitStatus;
  constructor(
    readonly code: "OUTBOX_UNUSABLE" | "OUTBOX_BUSY" | "OUTBOX_CORRUPT" | "OUTBOX_FULL",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.exitStatus =
      code === "OUTBOX_BUSY" ? EXIT.TEMPFAIL : code === "OUTBOX_FULL" ? EXIT.IOERR : EXIT.CANTCREAT;
  }
}

/** Another process holds the outbox's lock: a daemon tries again later. */
export function isOutboxBusy(err: unknown): boolean {
  return err instanceof OutboxError && err.code === "OUTBOX_BUSY";
}

/** The subscriber state database cannot be used. */
export class StateError extends MqArchiveError {
  override readonly exitStatus = EXIT.CANTCREAT;
  constructor(
    readonly code: "STATE_UNUSABLE" | "STATE_CORRUPT" | "STATE_FULL" | "STATE_BUSY",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** A full disk or another process's lock: worth waiting out, nothing is wrong with the state itself. */
  get retryable(): boolean {
    return this.code === "STATE_FULL" || this.code === "STATE_BUSY";
  }
}

/** The wire codes a malformed or refused frame is reported with (wire/errors.ts says what each means to a peer). */
export type ProtocolErrorCode = Extract<WireErrorCode, "BAD_FRAME" | "BAD_VERSION" | "UNKNOWN_TYPE" | "NO_SESSION" | "TOO_LARGE">;

/** A frame that does not follow the wire protocol. Recoverable: the session goes on. */
export class ProtocolError extends MqArchiveError {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The publisher's outbox is not the one this subscriber has been following. */
export class OutboxReplacedError extends MqArchiveError {
  readonly code = "OUTBOX_REPLACED";
  override readonly exitStatus = EXIT.CONFIG;
}

/** The publisher does not accept this peer's key (or no longer does). */
export class NotAuthorizedError extends MqArchiveError {
  readonly code = "NOT_AUTHORIZED";
  override readonly exitStatus = EXIT.NOPERM;
}

/**
 * A sink could not store a record. `transient` failures are retried forever
 * (order kept); permanent ones a bounded number of times, then dead-lettered.
 * `stored` says how many records of the batch were stored before the failure.
 */
export class SinkError extends MqArchiveError {
  readonly code: "SINK_TEMPORARY" | "SINK_PERMANENT";
  readonly transient: boolean;
  readonly stored: number;
  constructor(message: string, options: { transient: boolean; stored?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.transient = options.transient;
    this.stored = options.stored ?? 0;
    this.code = options.transient ? "SINK_TEMPORARY" : "SINK_PERMANENT";
  }
}

/** A lifecycle method was called in the wrong state (start twice, use after close). */
export class StateMachineError extends MqArchiveError {
  readonly code = "LIFECYCLE";
}

/**
 * Whether `err` is one of ours. Checked by shape, not class: the `publish`
 * fast path is a bundle with its own copy of these classes.
 */
export function isMqArchiveError(err: unknown): err is MqArchiveError {
  if (err instanceof MqArchiveError) return true;
  const e = err as { exitStatus?: unknown; code?: unknown } | null;
  return err instanceof Error && typeof e?.exitStatus === "number" && typeof e.code === "string";
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `verify` could not finish its comparison (a difference found is not an error: it is the answer, exit 1). */
export class VerifyError extends MqArchiveError {
  override readonly exitStatus = EXIT.UNAVAILABLE;
  constructor(
    readonly code: "VERIFY_REFUSED" | "VERIFY_TIMEOUT" | "VERIFY_FAILED" | "VERIFY_NO_OUTBOX",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
