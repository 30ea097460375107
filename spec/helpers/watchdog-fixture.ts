// Run by spec/cli/watchdog.spec.ts only (not a spec itself): a test whose
// event loop is blocked, so its own timeout cannot fire.

import { execFileSync } from "node:child_process";

describe("a stuck run", function () {
  this.timeout(1000);
  it("blocks its event loop", () => {
    execFileSync("sleep", ["120"]);
  });
});
