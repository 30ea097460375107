// The generic way a sink says a person must fix something (SinkContext.problem):
// said once in the log per change, kept in the state file, shown by status --state.

import { expect } from "chai";
import { join } from "node:path";
import { pino } from "pino";
import { formatSubscriberStatus, readSubscriberStatus } from "../../lib/status/subscriber.js";
import { SubscriberState } from "../../lib/store/state.js";
import { SinkProblems } from "../../lib/subscriber/sink-problems.js";
import { tempDir } from "../helpers/tmp.js";

describe("SinkProblems", () => {
  let state: SubscriberState;
  let logs: Array<Record<string, unknown>>;
  let problems: SinkProblems;
  beforeEach(() => {
    state = SubscriberState.open(join(tempDir(), "state.db"));
    logs = [];
    problems = new SinkProblems(state, pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line)) }));
  });
  afterEach(async () => {
    await state.close();
  });

  /** What another process (mq-archive status --state) reads from the file. */
  function statusFromFile() {
    const other = SubscriberState.open(state.path, { create: false });
    try {
      return readSubscriberStatus(other);
    } finally {
      void other.close();
    }
  }

  it("logs a problem once however often it is reported, and shows it in status until it is solved", () => {
    for (let i = 0; i < 3; i++) problems.report("web:https://x/", "the key is wrong: fix /etc/key");
    problems.report("maildir:/srv", null); // another sink with nothing to say: no line
    expect(logs.map((l) => [l.level, l.msg, l.sink])).to.deep.equal([[50, "sink needs attention: the key is wrong: fix /etc/key", "web:https://x/"]]);
    expect(problems.has("web:https://x/")).to.equal(true);

    const shown = statusFromFile();
    expect(shown.sinkProblems.map((p) => [p.sink, p.problem])).to.deep.equal([["web:https://x/", "the key is wrong: fix /etc/key"]]);
    expect(formatSubscriberStatus(shown)).to.match(/needs attention for \S+: web:https:\/\/x\/: the key is wrong: fix \/etc\/key\n/);

    problems.report("web:https://x/", null);
    problems.report("web:https://x/", null);
    expect(logs.slice(1).map((l) => [l.level, l.msg])).to.deep.equal([[30, "sink problem solved: it stores again"]]);
    expect(problems.has("web:https://x/")).to.equal(false);
    expect(statusFromFile().sinkProblems).to.deep.equal([]);
    expect(formatSubscriberStatus(statusFromFile())).not.to.contain("needs attention");
  });

  it("forgets what an earlier run reported when a subscriber starts (reset)", () => {
    problems.report("a:1", "first");
    problems.report("b:2", "second");
    expect(statusFromFile().sinkProblems.map((p) => p.sink)).to.deep.equal(["a:1", "b:2"]);
    problems.reset();
    expect(statusFromFile().sinkProblems).to.deep.equal([]);
    expect(problems.has("a:1")).to.equal(false);
  });
});
