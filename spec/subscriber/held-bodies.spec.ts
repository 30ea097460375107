import { expect } from "chai";
import { settleHeldBodies, type HeldBody } from "../../lib/subscriber/held-bodies.js";

/** Bodies as a batch carries them: views into one part, back to back. */
function batch(sizes: number[]): { part: Buffer; records: HeldBody[] } {
  const part = Buffer.alloc(sizes.reduce((a, b) => a + b, 0));
  let at = 0;
  const records = sizes.map((size, i) => {
    part.fill(i + 1, at, at + size);
    const body = part.subarray(at, (at += size));
    return { body };
  });
  return { part, records };
}

describe("settleHeldBodies", () => {
  it("leaves the bodies of a batch held whole as views into its part (no copies)", () => {
    const { part, records } = batch([10_000, 10_000, 10_000, 10_000]);
    settleHeldBodies(records);
    for (const r of records) expect(r.body.buffer).to.equal(part.buffer);
  });

  it("keeps the views while the held records are at least half of their part", () => {
    const { part, records } = batch([10_000, 10_000, 10_000, 10_000]);
    const held = records.slice(2); // the first two were duplicates
    settleHeldBodies(held);
    for (const r of held) expect(r.body.buffer).to.equal(part.buffer);
  });

  it("copies a held record out of a part made mostly of other records, bytes unchanged", () => {
    const { part, records } = batch([1_000, 20_000, 20_000, 1_000]);
    const held = [records[3]!];
    settleHeldBodies(held);
    expect(held[0]!.body.buffer).to.not.equal(part.buffer);
    expect(held[0]!.body.equals(Buffer.alloc(1_000, 4))).to.equal(true);
  });

  it("copies held records out of their batch when one of its records was dropped (the chain is split)", () => {
    const { part, records } = batch([10_000, 10_000, 10_000, 10_000]);
    const held = records.slice(2); // the second was dropped: these wait for it, while the first may be released
    settleHeldBodies(held, { split: true });
    for (const [i, r] of held.entries()) {
      expect(r.body.buffer).to.not.equal(part.buffer);
      expect(r.body.equals(Buffer.alloc(10_000, i + 3))).to.equal(true);
    }
  });

  it("leaves a body alone that is its own part, and does nothing for no records", () => {
    const own = { body: Buffer.allocUnsafeSlow(500).fill(7) };
    const before = own.body;
    settleHeldBodies([own]);
    expect(own.body).to.equal(before);
    expect(() => settleHeldBodies([])).to.not.throw();
  });
});
