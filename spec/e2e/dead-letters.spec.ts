// Issue 4: sink failures. Permanent ones are retried a bounded number of
// times and set aside as dead letters (shown in status and the log) while
// the list goes on; an operator's retry delivers them where they belong.
// Temporary ones (exit 75) are retried until they pass, in order.

import { expect } from "chai";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { runCli } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage } from "../helpers/messages.js";
import { waitFor } from "../helpers/wait.js";

/** An archiver command that fails temporarily while TEMP exists and permanently for "poison" messages until CURE exists. */
function archiver(mesh: Mesh): { sink: string; out: string; temp: string; cure: string } {
  const out = mesh.path("exec-out");
  mkdirSync(out);
  const temp = mesh.path("TEMP");
  const cure = mesh.path("CURE");
  const script = mesh.path("archiver.sh");
  writeFileSync(
    script,
    [
      "#!/bin/sh",
      `[ -e ${temp} ] && { echo "archive busy" >&2; exit 75; }`,
      `case "$MQA_MESSAGE_ID" in *poison*) [ -e ${cure} ] || { echo "cannot digest this one" >&2; exit 65; } ;; esac`,
      `cat > ${out}/$MQA_LIST.$MQA_SEQ && echo "$MQA_LIST $MQA_SEQ" >> ${out}/order.log`,
    ].join("\n"),
  );
  chmodSync(script, 0o755);
  return { sink: `exec:${script}`, out, temp, cure };
}

describe("e2e: dead letters and sink failures", function () {
  this.timeout(60_000);

  it("sets a permanently failing message aside, goes on, shows it, and delivers it on retry", async () => {
    const mesh = await Mesh.create();
    await mesh.serve();
    const a = archiver(mesh);
    const sub = mesh.subscribe("sub.db", [a.sink, `maildir:${mesh.path("maildir")}`], ["--name", "s", "--exec-retries", "2"]);
    const messages = Array.from({ length: 10 }, (_, i) => makeMessage("dev", i));
    messages[3] = { ...makeMessage("dev", 3), messageId: "<poison-3@test>", body: Buffer.from("Message-ID: <poison-3@test>\nSubject: p\n\nx\n") };
    messages[7] = { ...makeMessage("dev", 7), messageId: "<poison-7@test>", body: Buffer.from("Message-ID: <poison-7@test>\nSubject: p\n\ny\n") };
    mesh.publish(messages);
    await mesh.waitAcked(["s"], 10);

    const stored = readFileSync(`${a.out}/order.log`, "utf8").trim().split("\n");
    expect(stored).to.deep.equal(["dev 1", "dev 2", "dev 3", "dev 5", "dev 6", "dev 7", "dev 9", "dev 10"]);
    const list = JSON.parse((await runCli(["dead-letters", "--state", mesh.path("sub.db"), "list", "--json"])).stdout);
    expect(list.map((d: { messageId: string; seq: number; attempts: number }) => [d.messageId, d.seq, d.attempts])).to.deep.equal([
      ["<poison-3@test>", 4, 2],
      ["<poison-7@test>", 8, 2],
    ]);
    expect(list[0].error).to.contain("cannot digest this one");
    expect(sub.logs.filter((l) => l.msg === "permanent failure: set aside as a dead letter; the list goes on")).to.have.length(2);
    const show = await runCli(["dead-letters", "--state", mesh.path("sub.db"), "show", String(list[0].id)]);
    expect(show.stdout).to.equal(messages[3]!.body.toString());
    await waitFor(async () => JSON.parse((await runCli(["status", "--db", mesh.db, "--json"])).stdout).peers[0].deadLetters === 2, {
      what: "the publisher's status to show 2 dead letters",
      intervalMs: 200,
    });
    expect((await runCli(["status", "--state", mesh.path("sub.db")])).stdout).to.contain("dead letters: 2");

    writeFileSync(a.cure, "");
    const retry = await runCli(["dead-letters", "--state", mesh.path("sub.db"), "retry", "--all"]);
    expect(retry.stdout).to.contain("marked 2 for retry");
    await waitFor(async () => JSON.parse((await runCli(["dead-letters", "--state", mesh.path("sub.db"), "list", "--json"])).stdout).length === 0, {
      what: "the retried dead letters to be delivered",
      intervalMs: 200,
    });
    expect(readFileSync(`${a.out}/dev.4`)).to.deep.equal(messages[3]!.body);
    expect(readFileSync(`${a.out}/dev.8`)).to.deep.equal(messages[7]!.body);
    expect((await runCli(["dead-letters", "--state", mesh.path("sub.db"), "retry", "9"])).status).to.equal(66);
  });

  it("retries a temporary failure (exit 75) with backoff until it passes, never skipping, order kept", async () => {
    const mesh = await Mesh.create();
    await mesh.serve();
    const a = archiver(mesh);
    writeFileSync(a.temp, "");
    const sub = mesh.subscribe("sub.db", [a.sink], ["--name", "s", "--exec-retries", "1"]);
    mesh.publish(Array.from({ length: 5 }, (_, i) => makeMessage("dev", i)));
    await sub.waitForLog((l) => l.msg === "temporary sink failure; will retry" && Number(l.retryInMs) >= 400);
    expect(existsSync(`${a.out}/order.log`)).to.equal(false);
    rmSync(a.temp);
    await mesh.waitAcked(["s"], 5);
    expect(readFileSync(`${a.out}/order.log`, "utf8").trim().split("\n")).to.deep.equal(["dev 1", "dev 2", "dev 3", "dev 4", "dev 5"]);
    const list = JSON.parse((await runCli(["dead-letters", "--state", mesh.path("sub.db"), "list", "--json"])).stdout);
    expect(list).to.deep.equal([]);
  });
});
