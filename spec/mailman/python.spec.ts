// The plugin's own Python tests (examples/mailman/tests: every failure path
// of the hand-off, against a fake `mq-archive publish`), run with Python's
// unittest in this test run; and the spool the plugin writes, imported by
// the real `mq-archive publish --spool`.

import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Outbox } from "../../lib/store/outbox.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL("../../examples/mailman", import.meta.url));
/** Debian's Python when there is one; any python3 runs these tests (they need no Mailman). */
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

describe("Mailman plugin: its Python code", function () {
  this.timeout(120_000);

  it("passes its unit tests (python3 -m unittest in examples/mailman)", async () => {
    const result = await run(PYTHON, ["-B", "-m", "unittest", "discover", "-s", "tests", "-t", "tests"], { cwd: PACKAGE }).catch(
      (err: { stderr?: string; message: string }) => {
        throw new Error(`the plugin's Python tests failed:\n${err.stderr ?? err.message}`);
      },
    );
    expect(result.stderr).to.match(/^Ran \d+ tests/m).and.to.match(/\nOK\s*$/);
  });

  it("writes a spool that `mq-archive publish --spool` imports, in order, each once", async () => {
    const dir = tempDir("mqa-plugin-spool-");
    const spool = join(dir, "spool");
    const db = join(dir, "outbox.db");
    // The plugin with a publish command that cannot run: everything goes to the spool.
    const script = `
import logging, sys
from mq_archive.handoff import hand_off
from mq_archive.spool import Spool
from mq_archive import events
log = logging.getLogger('t')
spool = Spool(sys.argv[1])
missing = ['/nonexistent/mq-archive', 'publish']
event = {'id': 'ev-1', 'type': 'owner-added', 'list': 'dev@example.com', 'at': '2026-12-05T10:00:00.000Z', 'address': 'o@example.org'}
hand_off(missing, spool, 'message', 'dev@example.com', b'Message-ID: <s1@example.org>\\nSubject: one\\n\\nbody\\n', 'p1', 5, log)
hand_off(missing, spool, 'event', 'dev@example.com', events.encode(event), 'e1', 5, log)
hand_off(missing, spool, 'message', 'dev@example.com', b'Message-ID: <s2@example.org>\\nSubject: two\\n\\nbody\\n', 'p2', 5, log)
hand_off(missing, spool, 'message', 'dev@example.com', b'Message-ID: <s1@example.org>\\nSubject: one\\n\\nbody\\n', 'p1 again', 5, log)
`;
    await run(PYTHON, ["-B", "-c", script, spool], { cwd: PACKAGE });
    expect(readdirSync(join(spool, "lists", "dev@example.com", "new"))).to.have.length(3);

    const drained = await runCli(["publish", "--db", db, "--spool", spool]);
    expect(drained.status, drained.stderr).to.equal(0);
    const outbox = Outbox.open(db, { create: false });
    try {
      const records = outbox.records.readAfter(0, { limit: 10, maxBytes: 1 << 20 });
      expect(records.map((r) => [r.kind, r.messageId])).to.deep.equal([
        ["message", "<s1@example.org>"],
        ["event", "event:ev-1"],
        ["message", "<s2@example.org>"],
      ]);
    } finally {
      outbox.close();
    }
    expect(readdirSync(join(spool, "lists", "dev@example.com", "new"))).to.deep.equal([]);
    expect(readdirSync(join(spool, "events", "new"))).to.deep.equal([]);
  });
});
