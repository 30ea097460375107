// The modes a file sink gives what it creates, as one suite run against each
// (issue 12 point 8): archives hold private bodies, so nothing is readable by
// others whatever the umask, and only a group-readable directory lets its
// group read what goes in it.

import { expect } from "chai";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Sink } from "../../lib/sinks/sink.js";
import { batch, SinkBench, type MakeRecord } from "./contract.js";
import { sinkRecord } from "./records.js";

/** The mode (octal text) of `dir` and of every directory and file under it, by path relative to `dir`. */
export function modesUnder(dir: string): Record<string, string> {
  const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);
  const out: Record<string, string> = { ".": modeOf(dir) };
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    out[path.slice(dir.length + 1)] = modeOf(path);
  }
  return out;
}

/** Every entry of `modes` expected to be `dir` for a directory, `file` for a file. */
export function expectModes(root: string, modes: Record<string, string>, dir: string, file: string): void {
  const expected = Object.fromEntries(Object.keys(modes).map((p) => [p, statSync(join(root, p)).isDirectory() ? dir : file]));
  expect(modes).to.deep.equal(expected);
}

/** `record` makes what the sink stores (default: messages). */
export function sinkModesContract(name: string, makeSink: (dir: string) => Sink, record: MakeRecord = sinkRecord): void {
  describe(`${name} sink: file modes`, () => {
    let bench: SinkBench;
    let umask: number;
    beforeEach(() => {
      umask = process.umask(0o022);
      bench = new SinkBench(makeSink);
    });
    afterEach(async () => {
      process.umask(umask);
      await bench.close();
    });

    const store = async (): Promise<Record<string, string>> => {
      const sink = await bench.start(0);
      await sink.store(batch(1, 6, ["alpha", "beta"], record));
      return modesUnder(bench.dir);
    };

    it("under umask 022, creates its directory and everything in it owner-only (0700, 0600)", async () => {
      const modes = await store();
      expect(Object.keys(modes).length).to.be.greaterThan(2);
      expectModes(bench.dir, modes, "700", "600");
    });

    it("makes what it creates group-readable (0750, 0640) in a group-readable directory, never readable by others", async () => {
      for (const mode of [0o750, 0o755]) {
        mkdirSync(bench.dir, { mode });
        const modes = await store();
        const { ".": top, ...inside } = modes;
        expect(top).to.equal(mode.toString(8));
        expectModes(bench.dir, inside, "750", "640");
        await bench.close();
        bench = new SinkBench(makeSink);
      }
    });
  });
}
