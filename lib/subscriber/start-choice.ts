// Which start point a subscriber asks for (--start): only a peer with no
// state chooses; a state that has a position resumes from it, whatever
// --start says now (it says so when the two differ).

import { UsageError } from "../errors.js";
import type { Logger } from "../log.js";
import type { SubscriberState } from "../store/state.js";
import { formatStartPoint, parseStartPoint, START_FORMS } from "../wire/start-point.js";

/** The canonical start point of a `start` option (undefined: `all`); a UsageError naming the accepted forms for anything else. */
export function canonicalStart(start: string | undefined): string {
  const parsed = parseStartPoint(start ?? "all");
  if (typeof parsed === "string") throw new UsageError(`--start: ${parsed}; accepted: ${START_FORMS}`);
  return formatStartPoint(parsed);
}

/**
 * The start point to send with the hello, or null when the state already
 * has a position (or a session behind it): "no state" is position 0, no
 * outbox followed and no start recorded.
 */
export function startChoice(state: SubscriberState, requested: string | undefined, log: Logger): string | null {
  const start = canonicalStart(requested);
  const recorded = state.start;
  if (recorded === null && state.position === 0 && state.outboxId === null) return start;
  const before = recorded?.start ?? "all";
  if (requested !== undefined && start !== before) {
    log.info(
      { start, recorded: before, position: state.position },
      "this peer has a position already: --start applies only to a peer with no state, and is ignored",
    );
  }
  return null;
}
