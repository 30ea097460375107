// The Mailman set-up of the README, with a real GNU Mailman 3 (Debian's
// mailman3 package, which .ci/run installs): a post goes through Mailman's
// in, pipeline and archive runners, the archiver plugin in
// examples/mailman/ hands it to `mq-archive publish`, and an archive peer
// stores it. Without Mailman on this machine the test says so and skips.

import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BIN } from "../helpers/cli.js";
import { Mesh } from "../helpers/mesh.js";
import { readMaildirArchive } from "../helpers/messages.js";

const run = promisify(execFile);
const RUNNER = "/usr/lib/mailman3/bin/runner";
const PLUGIN_DIR = fileURLToPath(new URL("../../examples/mailman", import.meta.url));

/** Run the in, pipeline and archive runners (each handles one message per run) until their queues are empty. */
async function drainQueues(varDir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const runners = ["in", "pipeline", "archive"];
  for (let round = 0; round < 20; round++) {
    const busy = runners.filter((r) => readdirSync(join(varDir, "queue", r)).some((f) => f.endsWith(".pck")));
    if (busy.length === 0) return;
    for (const runner of busy) await run(RUNNER, ["-r", runner, "-o"], { env });
  }
  throw new Error("Mailman's queues did not drain");
}

/** A private Mailman site in the mesh directory whose archiver publishes into `outbox`; returns its environment. */
async function mailmanSite(mesh: Mesh, outbox: string): Promise<NodeJS.ProcessEnv> {
  const config = mesh.path("mailman.cfg");
  writeFileSync(
    config,
    [
      "[mailman]", "site_owner: owner@example.com", "layout: test",
      "[paths.test]", `var_dir: ${mesh.path("mailman")}`,
      "[mta]", "incoming: mailman.mta.null.NullMTA", "smtp_port: 9",
      "[archiver.mq_archive]", "class: mq_archive.MqArchive", "enable: yes", `configuration: ${mesh.path("mq-archive.cfg")}`,
    ].join("\n"),
  );
  writeFileSync(
    mesh.path("mq-archive.cfg"),
    ["[general]", "base_url: https://archives.example.org/$fqdn_listname", `command: ${process.execPath} ${BIN} publish --db ${outbox}`].join("\n"),
  );
  const env = { ...process.env, MAILMAN_CONFIG_FILE: config, PYTHONPATH: PLUGIN_DIR };
  await run("mailman", ["--run-as-root", "create", "dev@example.com"], { env });
  writeFileSync(mesh.path("members"), "poster@example.org\n");
  await run("mailman", ["--run-as-root", "addmembers", mesh.path("members"), "dev@example.com"], { env });
  return env;
}

async function post(mesh: Mesh, env: NodeJS.ProcessEnv, name: string, text: string): Promise<void> {
  writeFileSync(mesh.path(name), `From: poster@example.org\nTo: dev@example.com\n${text}`);
  await run("mailman", ["--run-as-root", "inject", "-q", "in", "dev@example.com", "-f", mesh.path(name)], { env });
}

describe("e2e: GNU Mailman 3 with the mq-archive archiver", function () {
  this.timeout(120_000);

  before(function () {
    if (!existsSync(RUNNER)) {
      console.warn(`\n  !!! SKIPPING the Mailman test: ${RUNNER} is missing. Install Debian's mailman3 (.ci/run does).\n`);
      this.skip();
    }
  });

  it("archives posts that Mailman accepts, through publish, serve and subscribe", async () => {
    const mesh = await Mesh.create();
    const env = await mailmanSite(mesh, mesh.db);
    const posts = [
      "Subject: first post\nMessage-ID: <mm-1@example.org>\n\nHello from Mailman.\n",
      "Subject: second post\nMessage-ID: <mm-2@example.org>\nContent-Type: text/plain; charset=utf-8\n\nCaf\u00e9 au lait, archived through mq-archive.\n",
    ];
    for (const [i, text] of posts.entries()) await post(mesh, env, `post${i}.eml`, text);
    await drainQueues(mesh.path("mailman"), env);

    const log = readFileSync(mesh.path("mailman/logs/mailman.log"), "utf8");
    expect(log).to.contain("mq-archive: <mm-1@example.org> committed as seq 1");
    expect(log).to.contain("mq-archive: <mm-2@example.org> committed as seq 2");

    await mesh.serve();
    mesh.subscribe("peer.db", [`maildir:${mesh.path("archive")}`], ["--name", "archive"]);
    await mesh.waitAcked(["archive"], 2);
    const archived = readMaildirArchive(mesh.path("archive"), "dev@example.com").map((f) => f.body.toString("utf8"));
    expect(archived).to.have.length(2);
    expect(archived[0]).to.contain("Message-ID: <mm-1@example.org>").and.to.contain("Hello from Mailman.");
    expect(archived[1]).to.contain("Caf\u00e9 au lait");
    expect(archived[0], "Mailman's own headers came along").to.match(/^List-Id: /m);
  });

  it("logs a clear error in Mailman when the outbox cannot be written", async () => {
    const mesh = await Mesh.create();
    const env = await mailmanSite(mesh, mesh.path("missing/outbox.db"));
    await post(mesh, env, "post.eml", "Subject: x\nMessage-ID: <mm-x@example.org>\n\nx\n");
    await drainQueues(mesh.path("mailman"), env);
    const log = readFileSync(mesh.path("mailman/logs/mailman.log"), "utf8");
    expect(log).to.match(/mq-archive publish failed for <mm-x@example.org> \(exit 73\): mq-archive: outbox .*missing\/outbox.db is unusable/);
  });
});
