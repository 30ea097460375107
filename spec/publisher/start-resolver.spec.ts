// Where a start point resolves, against a real outbox file: the clamps to
// the retained records and the head, and a time over the peer's lists only.

import Database from "better-sqlite3";
import { expect } from "chai";
import { join } from "node:path";
import { resolveStart } from "../../lib/publisher/start-resolver.js";
import { ALL_LISTS, listMatcher } from "../../lib/security/list-match.js";
import { Outbox } from "../../lib/store/outbox.js";
import { makeMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";

const DAY = 86_400_000;
const T = Date.parse("2026-12-01T00:00:00Z");

describe("resolveStart", () => {
  let outbox: Outbox;

  beforeEach(() => {
    const path = join(tempDir("mqa-start-"), "outbox.db");
    outbox = Outbox.open(path);
    const lists = ["pub", "pub", "pub", "pub", "priv", "priv", "pub", "pub", "pub", "pub"];
    lists.forEach((list, i) => outbox.records.append(makeMessage(list, i + 1)));
    // Received (days from T), by seq: 1-4 before T, 5 and 6 after, 7 at T, 8 before (stamped
    // before it committed), 9 and 10 after.
    const db = new Database(path);
    const stamps = [-6, -5, -4, -3, 1, 2, 0, -1, 3, 4];
    stamps.forEach((d, i) => db.prepare("UPDATE records SET received_at = ? WHERE seq = ?").run(T + d * DAY, i + 1));
    db.close();
    outbox.records.prune({ through: 2, before: Number.MAX_SAFE_INTEGER }); // seqs 1 and 2 are gone
  });

  afterEach(() => outbox.close());

  const at = (start: string, lists = ALL_LISTS): number => resolveStart(start, outbox.records, lists, outbox.records.head());

  it("all from the start, new at the head", () => {
    expect(at("all")).to.equal(0);
    expect(at("new")).to.equal(10);
  });

  it("seq:N after N-1, no lower than the first retained record and no higher than the head", () => {
    expect(at("seq:7")).to.equal(6);
    expect(at("seq:1")).to.equal(2);
    expect(at("seq:3")).to.equal(2);
    expect(at("seq:10")).to.equal(9);
    expect(at("seq:11")).to.equal(10);
    expect(at("seq:99999")).to.equal(10);
  });

  it("time: after the lowest seq received at or after it; before all retained: from the first; after all: the head", () => {
    expect(at("time:2026-12-01T00:00:00Z")).to.equal(4); // seq 5 (T+1d) is the lowest at or after T; 8 (T-1d) still follows
    expect(at("time:2026-11-01")).to.equal(2);
    expect(at("time:2027-01-01")).to.equal(10);
  });

  it("time: over the peer's lists only (a restricted peer learns nothing of the others' times)", () => {
    expect(at("time:2026-12-01T00:00:00Z", listMatcher(["pub"]))).to.equal(6); // priv's 5 and 6 are not its to see
    expect(at("time:2026-12-05T00:00:00Z", listMatcher(["priv"]))).to.equal(10);
  });
});
