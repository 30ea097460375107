// A watchdog over the whole mocha run (a root-hook plugin, .mocharc.json).
// mocha fails a test that passes its timeout, but not one whose event loop
// is blocked (a synchronous child that never returns), nor a process that
// does not exit after the run; either would hang CI until its limit and
// print nothing about where. A separate process is told what runs, with
// its timeout, and kills the run when it is stuck (watchdog-process.mjs).

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./watchdog-process.mjs", import.meta.url));

const child = spawn(process.execPath, [SCRIPT, String(process.pid)], { stdio: ["pipe", "pipe", "inherit"] });
child.unref();
const input = child.stdin!;
input.on("error", () => {}); // the watchdog gone: the run goes on without it
for (const stream of [input, child.stdout!]) (stream as unknown as { unref?: () => void }).unref?.();

function tell(line: string): void {
  input.write(`${line.replace(/\n/g, " ")}\n`);
}

export const mochaHooks = {
  beforeEach(this: Mocha.Context): void {
    const test = this.currentTest;
    if (test) tell(`T ${test.timeout()} ${test.fullTitle()}`);
  },
  afterEach(this: Mocha.Context): void {
    const test = this.currentTest;
    // Hooks between tests (a suite's before/after) run under the suite's timeout, at most 10 minutes here.
    if (test) tell(`T 600000 (after: ${test.fullTitle()})`);
  },
  /** The watchdog notes what still runs (to kill it once this process has exited), then says "ok". */
  async afterAll(): Promise<void> {
    const noted = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      child.stdout!.once("data", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    tell("E");
    await noted;
  },
};
