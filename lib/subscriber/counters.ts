// What a subscriber counts as records and frames arrive: one object, shared
// by the parts that count (link, session machine, intake), read by logs,
// status, tests and the benchmark.

/** What arrived and what became of it, for logs, status and tests. */
export interface SubscriberCounters {
  /** Data frames received over PUB (live) and ROUTER (catch-up, repair, filtered). */
  fromPub: number;
  fromRouter: number;
  duplicates: number;
  /** Frames not held because the reorder buffer was full (fetched again later). */
  dropped: number;
  /** Times PUB was paused: we were too far behind it to hold what it sent. */
  pubPauses: number;
  fetches: number;
  hellos: number;
  /** Malformed frames received, ignored. */
  badFrames: number;
}

export function newCounters(): SubscriberCounters {
  return { fromPub: 0, fromRouter: 0, duplicates: 0, dropped: 0, pubPauses: 0, fetches: 0, hellos: 0, badFrames: 0 };
}

/** What became of one sink's stores, for metrics and health. */
export interface SinkStats {
  stored: { message: number; event: number };
  /** Failed attempts that were retried. */
  retries: number;
  /** Records set aside as dead letters. */
  deadLetters: number;
  /** Since when (ms) the sink has been paused on a temporary failure; null when it is not. */
  failingSince: number | null;
}

export function newSinkStats(): SinkStats {
  return { stored: { message: 0, event: 0 }, retries: 0, deadLetters: 0, failingSince: null };
}

/** Records a store() took, by kind; the sink works again. */
export function countStored(stats: SinkStats, records: ReadonlyArray<{ kind: "message" | "event" }>): void {
  for (const r of records) stats.stored[r.kind]++;
  if (records.length > 0) stats.failingSince = null;
}
