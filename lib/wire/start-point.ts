// Where a peer with no state starts (`subscribe --start`): one notation,
// parsed here for the CLI, the config file, the library and the wire alike,
// so a value the CLI refuses is also one the publisher refuses from a peer.
// Pure: no I/O, no clock.
//
//   all            from the first retained record (the default)
//   new            only records committed after the peer's first session starts
//   seq:N          from the first record with seq >= N (N >= 1)
//   time:ISO-8601  from the first record received at or after that instant

export type StartPoint =
  | { type: "all" }
  | { type: "new" }
  | { type: "seq"; seq: number }
  /** `at`: milliseconds since the epoch. */
  | { type: "time"; at: number };

export const START_FORMS = "all, new, seq:N (N a positive integer) or time:ISO-8601 (e.g. time:2026-12-01T00:00:00Z)";

/** The longest start value accepted (the wire bounds what a peer may send). */
export const MAX_START_LENGTH = 64;

/**
 * A date, or a date and time with a zone (Z or ±HH:MM): a time without a zone
 * would mean the local time of whichever host parses it, and the publisher
 * and the peer may not share one. Date.parse alone accepts far more.
 */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** The start point `text` names, or a sentence saying why it names none. */
export function parseStartPoint(text: string): StartPoint | string {
  if (text.length > MAX_START_LENGTH) return `a start value is at most ${MAX_START_LENGTH} characters`;
  if (text === "all" || text === "new") return { type: text };
  if (text.startsWith("seq:")) {
    const digits = text.slice(4);
    const seq = Number(digits);
    if (!/^\d+$/.test(digits) || !Number.isSafeInteger(seq) || seq < 1) return `${JSON.stringify(text)}: N in seq:N is a positive integer`;
    return { type: "seq", seq };
  }
  if (text.startsWith("time:")) {
    const iso = text.slice(5);
    const at = ISO_8601.test(iso) ? Date.parse(iso) : NaN;
    if (!Number.isSafeInteger(at) || at < 0) {
      return `${JSON.stringify(text)}: not an ISO-8601 date, or date and time with a zone (e.g. time:2026-12-01T00:00:00Z)`;
    }
    return { type: "time", at };
  }
  return `${JSON.stringify(text.slice(0, MAX_START_LENGTH))} is not a start point`;
}

/** The canonical text of a start point (a time in UTC to the millisecond): what the state records and the wire carries. */
export function formatStartPoint(start: StartPoint): string {
  switch (start.type) {
    case "all":
    case "new":
      return start.type;
    case "seq":
      return `seq:${start.seq}`;
    case "time":
      return `time:${new Date(start.at).toISOString()}`;
  }
}
