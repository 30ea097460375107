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
