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

/** Log at most once per `intervalMs` per key; returns how many were suppressed since. */
export class RateLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly intervalMs: number) {}

  allow(key: string, now = Date.now()): number | null {
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return null;
    }
    if (this.last.size > 10_000) this.last.clear();
    this.last.set(key, { at: now, suppressed: 0 });
    return entry?.suppressed ?? 0;
  }
}
