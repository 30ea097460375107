// The start point notation on its own: what --start, the config file, the
// library and a peer's hello may say, and its canonical form. No I/O.

import { expect } from "chai";
import { formatStartPoint, parseStartPoint } from "../../lib/wire/start-point.js";

describe("start point", () => {
  it("parses all, new, seq:N and time:ISO-8601 (a date, or a date and time with a zone)", () => {
    expect(parseStartPoint("all")).to.deep.equal({ type: "all" });
    expect(parseStartPoint("new")).to.deep.equal({ type: "new" });
    expect(parseStartPoint("seq:1")).to.deep.equal({ type: "seq", seq: 1 });
    expect(parseStartPoint("seq:9007199254740991")).to.deep.equal({ type: "seq", seq: Number.MAX_SAFE_INTEGER });
    expect(parseStartPoint("time:2026-12-01T00:00:00Z")).to.deep.equal({ type: "time", at: Date.UTC(2026, 11, 1) });
    expect(parseStartPoint("time:2026-12-01T01:30+01:00")).to.deep.equal({ type: "time", at: Date.UTC(2026, 11, 1, 0, 30) });
    expect(parseStartPoint("time:2026-12-01")).to.deep.equal({ type: "time", at: Date.UTC(2026, 11, 1) });
  });

  it("refuses anything else with a sentence, not an exception", () => {
    const bad = ["yesterday", "", "ALL", "seq:", "seq:0", "seq:-1", "seq:1.5", "seq:1e3", "seq:9007199254740992", "time:not-a-date",
      "time:2026-12-01T00:00:00", "time:2026-13-01", "time:1969-12-31T00:00:00Z", "time:Dec 1 2026", "x".repeat(65)];
    for (const text of bad) expect(parseStartPoint(text), text).to.be.a("string");
  });

  it("formats the canonical form: a time in UTC to the millisecond", () => {
    for (const text of ["all", "new", "seq:42"]) expect(formatStartPoint(parseStartPoint(text) as never)).to.equal(text);
    expect(formatStartPoint({ type: "time", at: Date.UTC(2026, 11, 1, 0, 30) })).to.equal("time:2026-12-01T00:30:00.000Z");
  });
});
