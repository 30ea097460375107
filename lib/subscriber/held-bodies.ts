// Records held for a gap keep their bodies as views into the part they came
// in: a batch's bodies share one part, so copying each would cost a copy per
// held record (most records are held while a subscriber catches up). The
// records of a batch that are held form one chain (a record after a held one
// follows it, so it is held too) and are released together, so together
// they pay for their part. They keep copies instead when the part is mostly
// other records (duplicates, or a small body in a larger buffer), or when
// the chain was split: a record of the frame was dropped (the reorder buffer
// was full), so the held ones after it wait for that one to come again while
// those before it may go.

/** What a held record carries: a body that may be a view into a larger part. */
export interface HeldBody {
  body: Buffer;
}

/**
 * Given the records of one frame (a data frame, or a batch) that were just
 * held, copy their bodies if the part they share is more than twice their
 * size, or if the frame's chain was split (`split`: one of its records was dropped).
 */
export function settleHeldBodies(held: readonly HeldBody[], options: { split?: boolean } = {}): void {
  if (held.length === 0) return;
  if (options.split) return copyAll(held);
  let bytes = 0;
  let pinned = 0;
  const parts = new Set<ArrayBufferLike>();
  for (const h of held) {
    bytes += h.body.byteLength;
    if (!parts.has(h.body.buffer)) {
      parts.add(h.body.buffer);
      pinned += h.body.buffer.byteLength;
    }
  }
  if (pinned > 2 * bytes) copyAll(held);
}

function copyAll(held: readonly HeldBody[]): void {
  for (const h of held) {
    if (h.body.byteLength < h.body.buffer.byteLength) h.body = Buffer.from(h.body);
  }
}
