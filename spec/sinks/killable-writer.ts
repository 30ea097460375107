// A sink's crash test: run a writer process (a fixture that stores records
// through the sink and prints a line per committed batch) until it has
// committed some batches, then SIGKILL it at a random moment after. Call in
// a describe(): the writer is killed after each test whatever happened.

import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import { waitFor } from "../helpers/wait.js";

export function killableWriter(writer: string): (dir: string, statePath: string, batches: number) => Promise<void> {
  let child: ChildProcess | null = null;

  afterEach(async () => {
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    child = null;
  });

  return async (dir, statePath, batches) => {
    const proc = spawn(process.execPath, ["--import", "tsx", writer, dir, statePath], { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    let commits = 0;
    let stderr = "";
    proc.stdout!.on("data", (d: Buffer) => (commits += d.toString().split("\n").length - 1));
    proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    await waitFor(() => commits >= batches || proc.exitCode !== null, { what: "the writer to commit" });
    expect(proc.exitCode, `the writer failed: ${stderr}`).to.equal(null);
    // Let it run on for a random number of event-loop turns, so the kill lands anywhere in its cycle.
    for (let spins = randomInt(0, 400); spins > 0; spins--) await new Promise((resolve) => setImmediate(resolve));
    proc.kill("SIGKILL");
    await exited;
  };
}
