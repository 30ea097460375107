// The test run's watchdog (spec/helpers/watchdog.ts): a test whose event
// loop is blocked past its timeout fails the run within seconds of its
// deadline, naming the test and the process it was waiting on, instead of
// hanging until CI's limit.

import { expect } from "chai";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("the test watchdog", function () {
  this.timeout(60_000);

  // Without the watchdog the run would wait out the child's 120 s, past this test's 60 s timeout.
  it("kills a run whose event loop is stuck, naming the test and its child", async () => {
    const child = spawn(process.execPath, ["node_modules/mocha/bin/mocha.js", "spec/helpers/watchdog-fixture.ts"], {
      cwd: ROOT,
      env: { ...process.env, MQA_WATCHDOG_GRACE_MS: "1000" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("exit", (c, s) => resolve([c, s])));
    expect(code === 0 && signal === null, "the run failed").to.equal(false);
    expect(stderr).to.include("!!! WATCHDOG: stuck").and.include("a stuck run blocks its event loop").and.include("sleep 120");
  });
});
