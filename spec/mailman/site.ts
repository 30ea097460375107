// A private GNU Mailman 3 site (Debian's mailman3, which .ci/run installs)
// with the mq-archive package installed as the README says (pip, from a
// copy of examples/mailman, into a directory of its own on PYTHONPATH
// instead of the system's). Posts run through Mailman's one-shot in,
// pipeline and archive runners; list changes through the `mailman` CLI.

import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BIN } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { SYNC_CHILD } from "../helpers/sync-limit.js";

const run = promisify(execFile);
export const RUNNER = "/usr/lib/mailman3/bin/runner";
const PYTHON = "/usr/bin/python3";
const PACKAGE = fileURLToPath(new URL("../../examples/mailman", import.meta.url));
const HERE = fileURLToPath(new URL(".", import.meta.url));

/** Why this machine cannot run the Mailman tests, or null. */
export function mailmanMissing(): string | null {
  if (!existsSync(RUNNER)) return `${RUNNER} is missing. Install Debian's mailman3 (.ci/run does)`;
  try {
    execFileSync(PYTHON, ["-c", "import setuptools, pip"], { stdio: "pipe", ...SYNC_CHILD });
  } catch {
    return `${PYTHON} lacks pip or setuptools, which install the plugin. Install Debian's python3-pip and python3-setuptools (.ci/run does)`;
  }
  return null;
}

let installed: Promise<string> | null = null;
let installedAt: string | null = null;

/** pip-install the package (again once a test's temp directories were removed); returns the directory it went to. */
export async function installPackage(): Promise<string> {
  if (installedAt !== null && !existsSync(installedAt)) installed = null;
  installed ??= (async () => {
    const dir = tempDir("mqa-mailman-package-");
    const source = join(dir, "source");
    cpSync(PACKAGE, source, { recursive: true, filter: (p) => !/(__pycache__|\.egg-info|\/build)$/.test(p) });
    const target = join(dir, "site-packages");
    await run(PYTHON, ["-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-deps", "--no-index", "--target", target, source]);
    installedAt = target;
    return target;
  })();
  return installed;
}

export interface Settings {
  command?: string;
  spool?: string;
  timeout?: number;
  eventTimeout?: number;
  memberEvents?: boolean;
}

export class MailmanSite {
  readonly varDir: string;
  private constructor(
    readonly dir: string,
    readonly outbox: string,
    readonly env: NodeJS.ProcessEnv,
  ) {
    this.varDir = join(dir, "mailman");
  }

  /** A site in `dir` whose archiver and plugin publish into `outbox`. */
  static async create(dir: string, outbox: string, settings: Settings = {}): Promise<MailmanSite> {
    const sitePackages = await installPackage();
    const config = join(dir, "mailman.cfg");
    writeFileSync(
      config,
      [
        "[mailman]", "site_owner: owner@example.com", "layout: test",
        "[paths.test]", `var_dir: ${join(dir, "mailman")}`,
        "[mta]", "incoming: mailman.mta.null.NullMTA", "smtp_port: 9",
        // The README's two sections.
        readFileSync(join(PACKAGE, "mailman.cfg"), "utf8").replaceAll("/etc/mailman3/mq-archive.cfg", join(dir, "mq-archive.cfg")),
      ].join("\n"),
    );
    const site = new MailmanSite(dir, outbox, { ...process.env, MAILMAN_CONFIG_FILE: config, PYTHONPATH: `${sitePackages}:${HERE}` });
    site.configure(settings);
    return site;
  }

  /** The spool when the settings name none: under Mailman's var dir. */
  get defaultSpool(): string {
    return join(this.varDir, "mq-archive", "spool");
  }

  /** (Re)write mq-archive.cfg; each runner process reads it when it starts. */
  configure(settings: Settings): void {
    const lines = [
      "[general]",
      `command: ${settings.command ?? `${process.execPath} ${BIN} publish --db ${this.outbox}`}`,
      "base_url: https://archives.example.org/hyperkitty/",
      `timeout: ${settings.timeout ?? 20}`,
      `event_timeout: ${settings.eventTimeout ?? 20}`,
      `member_events: ${settings.memberEvents ? "yes" : "no"}`,
    ];
    if (settings.spool) lines.push(`spool: ${settings.spool}`);
    writeFileSync(join(this.dir, "mq-archive.cfg"), `${lines.join("\n")}\n`);
  }

  async mailman(...args: string[]): Promise<string> {
    const { stdout } = await run("mailman", ["--run-as-root", ...args], { env: this.env });
    return stdout;
  }

  /** Run a function of mqa_test_site.py on a list, as `mailman shell` does. */
  shell(list: string, fn: string, ...args: string[]): Promise<string> {
    return this.mailman("shell", "-l", list, "-r", `mqa_test_site.${fn}`, ...args);
  }

  async createList(list: string, owner?: string): Promise<void> {
    await this.mailman("create", ...(owner ? ["-o", owner] : []), list);
  }

  async addMember(list: string, address: string): Promise<void> {
    const file = join(this.dir, "members");
    writeFileSync(file, `${address}\n`);
    await this.mailman("addmembers", file, list);
  }

  /** Inject a post into the in queue. */
  async post(list: string, name: string, text: string | Buffer): Promise<void> {
    const file = join(this.dir, name);
    writeFileSync(file, Buffer.concat([Buffer.from(`From: poster@example.org\nTo: ${list}\n`), Buffer.from(text)]));
    await this.mailman("inject", "-q", "in", list, "-f", file);
  }

  /** Run the in, pipeline and archive runners (one message per run each) until their queues are empty. */
  async drainQueues(): Promise<void> {
    const runners = ["in", "pipeline", "archive"];
    for (let round = 0; round < 40; round++) {
      const busy = runners.filter((r) => this.queued(r) > 0);
      if (busy.length === 0) return;
      for (const runner of busy) await run(RUNNER, ["-r", runner, "-o"], { env: this.env });
    }
    throw new Error("Mailman's queues did not drain");
  }

  log(): string {
    const path = join(this.varDir, "logs", "mailman.log");
    return existsSync(path) ? readFileSync(path, "utf8") : "";
  }

  private queued(runner: string): number {
    const dir = join(this.varDir, "queue", runner);
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".pck")).length : 0;
  }
}

/** Mailman's Message-ID-Hash: base32 of the SHA-1 of the Message-ID without <>. */
export function messageIdHash(messageId: string): string {
  const digest = createHash("sha1").update(messageId.replace(/^<|>$/g, "")).digest();
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of digest) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}
