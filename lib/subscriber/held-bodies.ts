// Records held for a gap keep their bodies as views into the part they came
// in: a batch's bodies share one part, so copying each would cost a copy per
// held record (most records held while a subscriber catches up). Records of
// one batch are held together (a record after a held one follows it in the
// chain, so it is held too), and then they pay for their part. Only when the
// held ones would pin a part made mostly of other records (dropped or
// duplicate ones, or an 8 KiB pool slab for a small body) do they keep copies,
// so what is held in memory stays within twice what the reorder buffer counts.

/** What a held record carries: a body that may be a view into a larger part. */
export interface HeldBody {
  body: Buffer;
}

/**
 * Given the records of one frame (a data frame, or a batch) that were just
 * held, copy their bodies if the part they share is more than twice their size.
 */
export function settleHeldBodies(held: readonly HeldBody[]): void {
  if (held.length === 0) return;
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
  if (pinned <= 2 * bytes) return;
  for (const h of held) {
    if (h.body.byteLength < h.body.buffer.byteLength) h.body = Buffer.from(h.body);
  }
}
