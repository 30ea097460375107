// The executable as the system runs it: through its shebang line, which
// carries the node flags the daemons are measured with.

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NODE_FLAGS } from "../../lib/config/node-flags.js";
import { BIN } from "../helpers/cli.js";

const SOURCE = fileURLToPath(new URL("../../bin/mq-archive.ts", import.meta.url));
const firstLine = (file: string): string => readFileSync(file, "utf8").split("\n")[0]!;

describe("cli: the executable", () => {
  it("runs node with NODE_FLAGS, in the source and in the build", () => {
    const shebang = `#!/usr/bin/env -S node ${NODE_FLAGS.join(" ")}`;
    expect(firstLine(SOURCE)).to.equal(shebang);
    expect(firstLine(BIN)).to.equal(shebang);
  });

  it("starts through its shebang line", () => {
    const run = spawnSync(BIN, ["--version"], { encoding: "utf8" });
    expect(run.error, "exec of the built file").to.equal(undefined);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout.trim()).to.match(/^\d+\.\d+\.\d+/);
  });
});
