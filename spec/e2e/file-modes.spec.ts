// Issue 12 point 8: what holds message bodies is owner-only whatever the
// umask (outbox and its WAL, subscriber state with its dead letters, maildir
// and mbox archives), and a secret key file others can read is refused.
// Real serve, publish and subscribe processes, which inherit our umask.

import { expect } from "chai";
import { chmodSync, statSync } from "node:fs";
import { join } from "node:path";
import { Daemon } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { makeMessage } from "../helpers/messages.js";
import { expectModes, modesUnder } from "../sinks/modes.js";

const LIST = "dev@lists.example.org";

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

/** How a daemon ended up: exited with a status, or got far enough to run. */
async function exitOrRun(daemon: Daemon, running: string): Promise<number | "running"> {
  const exited = daemon.waitExit().then((e) => e.code ?? -1);
  const ran = daemon.waitForLog(running).then(() => "running" as const, () => exited);
  return Promise.race([exited, ran]);
}

describe("e2e: file modes", function () {
  this.timeout(60_000);
  let umask: number;
  before(() => {
    umask = process.umask(0o022);
  });
  after(() => {
    process.umask(umask);
  });

  it("under umask 022, the outbox, its WAL, the state and the maildir and mbox archives are owner-only", async () => {
    const mesh = await Mesh.create();
    await mesh.publishCli([makeMessage(LIST, 1)]); // publish creates the outbox
    await mesh.serve();
    await mesh.publishCli([makeMessage(LIST, 2)]); // serve holds the outbox open: its WAL stays
    const archive = mesh.path("archive"); // missing: subscribe creates it and everything under it
    mesh.subscribe("a.db", [`maildir:${join(archive, "maildir")}`, `mbox:${join(archive, "mbox")}`], ["--name", "a"]);
    await mesh.waitAcked(["a"], 2);

    const databases = ["outbox.db", "a.db"].flatMap((db) => ["", "-wal", "-shm"].map((suffix) => db + suffix));
    expect(Object.fromEntries(databases.map((name) => [name, modeOf(mesh.path(name))]))).to.deep.equal(
      Object.fromEntries(databases.map((name) => [name, "600"])),
    );
    const archives = modesUnder(archive);
    expect(Object.keys(archives)).to.include.members([join("mbox", `${LIST}.mbox`), join("maildir", LIST, "new")]);
    expect(Object.keys(archives).filter((p) => p.startsWith(`${join("maildir", LIST, "new")}/`))).to.have.length(2);
    expectModes(archive, archives, "700", "600");
  });

  it("serve refuses a secret key file others can read, saying how to fix it", async () => {
    const mesh = await Mesh.create();
    const { keyFile } = mesh.makeKey("publisher");
    mesh.writePeers([`${mesh.makeKey("archive").publicKey} name=archive`]);
    chmodSync(keyFile, 0o644);
    const serve = Daemon.start(["serve", "--db", mesh.db, "--bind", mesh.endpoint, "--key", keyFile, "--peers", mesh.path("peers")]);
    expect(await exitOrRun(serve, "publisher listening")).to.equal(78);
    expect(serve.stderrText.join("\n")).to.include(`permissions 0644 are too open`).and.include(`chmod 600 ${keyFile}`);
  });

  it("subscribe refuses a secret key file its group can read, saying how to fix it", async () => {
    const mesh = await Mesh.create();
    mesh.makeKey("publisher");
    const { keyFile } = mesh.makeKey("archive");
    chmodSync(keyFile, 0o640);
    const sub = mesh.subscribeSecure("a.db", ["null"], "archive");
    expect(await exitOrRun(sub, "subscriber started")).to.equal(78);
    expect(sub.stderrText.join("\n")).to.include(`permissions 0640 are too open`).and.include(`chmod 600 ${keyFile}`);
  });
});
