// pino, the one logger: JSON lines on stderr, one child per component.
// Peer-supplied data goes in fields of a log call, never in child bindings.

import { pino, type Logger } from "pino";

export type { Logger };

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export function createLogger(level = "info", fd = 2): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`unknown log level ${JSON.stringify(level)} (use one of ${LOG_LEVELS.join(", ")})`);
  }
  // Synchronous writes: a crash or kill never loses the lines that explain it.
  return pino({ level, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd, sync: true }));
}

/** The default for library users who pass no logger. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/**
 * Log at most once per `intervalMs` per key, and at most `maxPerInterval`
 * lines in all per interval (keys may be made by a peer: a new connection
 * each time); returns how many were suppressed since.
 */
export class RateLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  private windowAt = 0;
  private windowLines = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly maxPerInterval = 100,
  ) {}

  allow(key: string, now = Date.now()): number | null {
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return null;
    }
    if (now - this.windowAt >= this.intervalMs) {
      this.windowAt = now;
      this.windowLines = 0;
    }
    if (this.windowLines >= this.maxPerInterval) {
      if (entry) entry.suppressed++;
      return null;
    }
    this.windowLines++;
    if (this.last.size > 10_000) this.last.clear();
    this.last.set(key, { at: now, suppressed: 0 });
    return entry?.suppressed ?? 0;
  }
}
