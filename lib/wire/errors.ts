// The error codes of the wire protocol, and what the receiver of an `err`
// frame does with each: one table, so neither side decides it in a string
// switch. Codes never change once shipped (they travel on the wire); a code
// a receiver does not know is only logged.

export type WireErrorCode =
  /** The frame is malformed: the session goes on. */
  | "BAD_FRAME"
  | "BAD_VERSION"
  | "UNKNOWN_TYPE"
  | "TOO_LARGE"
  | "NO_SESSION"
  | "NOT_AUTHORIZED"
  | "BUSY"
  | "OUTBOX_MISMATCH"
  | "POSITION_AHEAD";

/**
 * - `stop`: nothing will change by trying again; the subscriber ends with a typed error.
 * - `hello`: the session is gone; say hello again now.
 * - `retry`: not now; say hello again after the usual backoff.
 * - `log`: the frame it answers was refused; the session goes on.
 */
export type WireErrorAction = "stop" | "hello" | "retry" | "log";

export const WIRE_ERRORS: Readonly<Record<WireErrorCode, WireErrorAction>> = {
  BAD_FRAME: "log",
  BAD_VERSION: "stop",
  UNKNOWN_TYPE: "log",
  TOO_LARGE: "log",
  NO_SESSION: "hello",
  NOT_AUTHORIZED: "stop",
  BUSY: "retry",
  OUTBOX_MISMATCH: "stop",
  POSITION_AHEAD: "stop",
};

export function isWireErrorCode(code: string): code is WireErrorCode {
  return Object.hasOwn(WIRE_ERRORS, code);
}

/** What to do with an `err` frame's code (one we do not know is logged). */
export function wireErrorAction(code: string): WireErrorAction {
  return isWireErrorCode(code) ? WIRE_ERRORS[code] : "log";
}
