// Issue 4: the chaos suite's short run (at least 2,000 messages and 20
// faults): nothing lost, nothing duplicated, poison in the dead-letter
// store, pruning never past an ack. `npm run chaos` runs longer ones.
// Issue 17: a chain rides along (origin → relay → mirror), its relay killed,
// restarted and stopped, the mirror failing over to the origin and back.

import { expect } from "chai";
import { runChaos } from "../chaos/chaos.js";

describe("e2e: chaos (short run)", function () {
  this.timeout(180_000);

  it("loses and duplicates nothing while serve, subscribers and the chain's relay are killed, stopped, cut off and starved", async () => {
    const seed = Number(process.env.CHAOS_SEED ?? 20261130);
    const result = await runChaos({ messages: 2000, seconds: 20, seed });
    const summary = `chaos: ${result.messages} messages, ${result.faults} faults, ${result.lost} lost, ${result.duplicated} duplicated, ${result.deadLettered} dead-lettered, mirror failovers ${result.mirrorFailovers}, returns ${result.mirrorReturns} (seed ${seed})`;
    expect(result.violations, summary).to.deep.equal([]);
    // At least 20 faults, the first one of each kind, are injected by construction (FaultInjector.run).
    expect(result.lost).to.equal(0);
    expect(result.duplicated).to.equal(0);
    expect(result.deadLettered, "every poisoned message, once").to.be.above(0);
    expect(result.mirrorFailovers, "the mirror moved to the origin while the relay was down").to.be.above(0);
  });
});
