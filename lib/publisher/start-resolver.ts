// Where a peer with no state starts, resolved against the outbox: the
// welcome's `from` for a hello that carries a start point. Only a seq comes
// out (seqs are global and every peer sees the head in heartbeats); a time
// is resolved over the lists the peer receives, so a restricted peer learns
// nothing of when other lists' records arrived.

import type { ListMatcher } from "../security/list-match.js";
import type { RecordLog } from "../store/record-log.js";
import { parseStartPoint } from "../wire/start-point.js";

export type StartRecords = Pick<RecordLog, "first" | "firstReceivedSince">;

/**
 * The position (the `prev` of the first record sent) that `start` names,
 * with the outbox at `head`. Never past the head (a position there would be
 * refused as POSITION_AHEAD on the next hello), never below the first
 * retained record but one (records below it are gone, not missed).
 */
export function resolveStart(start: string, records: StartRecords, lists: ListMatcher, head: number): number {
  const point = parseStartPoint(start);
  if (typeof point === "string") return 0; // the codec let through only what parses
  switch (point.type) {
    case "all":
      return 0;
    case "new":
      return head;
    case "seq": {
      // A seq past the head: from the head, as `new` (the seqs between are not committed yet).
      const retained = Math.max(records.first() - 1, 0);
      return Math.max(Math.min(point.seq - 1, head), retained);
    }
    case "time": {
      const seq = records.firstReceivedSince(point.at, lists);
      return seq === null ? head : Math.min(seq - 1, head);
    }
  }
}
