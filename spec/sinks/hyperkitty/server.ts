// A real HyperKitty for the hyperkitty sink's tests: Debian's
// python3-django-hyperkitty with settings.py beside this file, SQLite, no
// Mailman core, under Django's development server on a loopback port (one
// process, no threads). Migrated once per test file (2-8 s here); stop() and
// start() keep its database, so a test can take HyperKitty down and bring it
// back. What it stored is read from its database (order, count) and its API;
// the bytes it was sent, from capture.py's copies.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { freePortPair } from "../../helpers/ports.js";
import { waitFor } from "../../helpers/wait.js";
import { messageIdHash } from "../../mailman/site.js";

const DJANGO_ADMIN = "/usr/bin/django-admin";
const PYTHON = "/usr/bin/python3";
const HERE = fileURLToPath(new URL(".", import.meta.url));
const run = promisify(execFile);

/** Why this machine cannot run the HyperKitty tests, or null. */
export function hyperkittyMissing(): string | null {
  if (!existsSync(DJANGO_ADMIN) || !existsSync("/usr/lib/python3/dist-packages/hyperkitty")) {
    return "Debian's python3-django-hyperkitty is not installed (.ci/run installs it)";
  }
  return null;
}

export interface StoredEmail {
  id: number;
  messageId: string;
  subject: string;
  sender: string;
}

export class HyperKitty {
  /** Not a tempDir(): those go after each test, and this one serves a whole file. */
  readonly dir = mkdtempSync(join(tmpdir(), "mqa-hyperkitty-"));
  readonly key = `test-key-${createHash("sha256").update(String(Math.random())).digest("hex").slice(0, 24)}`;
  port = 0;
  private child: ChildProcess | null = null;
  private output = "";
  /** Started with settings of a test's own (or stopped, or paused): reset() brings the default back. */
  private unusual = false;

  static async create(): Promise<HyperKitty> {
    const hk = new HyperKitty();
    hk.port = await freePortPair();
    await run(DJANGO_ADMIN, ["migrate", "-v0"], { env: hk.env(), timeout: 120_000 });
    await hk.start();
    return hk;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}/hyperkitty/`;
  }

  /** Serve, on the same port each time; `from`: its MAILMAN_ARCHIVER_FROM (default loopback). */
  async start(options: { from?: string } = {}): Promise<void> {
    const env = { ...this.env(), ...(options.from === undefined ? {} : { MQA_HK_FROM: options.from }) };
    this.unusual = options.from !== undefined;
    const child = spawn(DJANGO_ADMIN, ["runserver", "--noreload", "--nothreading", `127.0.0.1:${this.port}`], { env, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000));
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`HyperKitty exited ${child.exitCode}: ${this.output.slice(-2000)}`);
        return (await fetch(`${this.base}api/lists/`).catch(() => null))?.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `HyperKitty on port ${this.port}` },
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    this.unusual = true;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGCONT");
    child.kill("SIGTERM");
    await exited;
  }

  /** Stop answering without closing the socket (SIGSTOP): connections are accepted, requests wait. */
  pause(): void {
    this.unusual = true;
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }

  /** Serving with the default settings again, whatever a test did. */
  async reset(): Promise<void> {
    if (!this.unusual) return;
    this.resume();
    await this.stop();
    await this.start();
  }

  async destroy(): Promise<void> {
    this.resume();
    await this.stop();
    if (process.env.MQA_KEEP_TMP === undefined) rmSync(this.dir, { recursive: true, force: true });
  }

  /** The last lines HyperKitty printed (its log, Django's request lines). */
  log(): string {
    return this.output;
  }

  /** A key file holding `key` (default: HyperKitty's own), mode 0600. */
  writeKeyFile(name: string, key = this.key): string {
    const file = join(this.dir, name);
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
    return file;
  }

  /** The emails HyperKitty holds for `list`, in the order it stored them. */
  emails(list: string): StoredEmail[] {
    const db = new Database(join(this.dir, "hyperkitty.db"), { readonly: true, fileMustExist: true });
    try {
      db.pragma("busy_timeout = 30000");
      return db
        .prepare(
          "SELECT e.id, e.message_id AS messageId, e.subject, e.sender_id AS sender FROM hyperkitty_email e " +
            "JOIN hyperkitty_mailinglist l ON l.id = e.mailinglist_id WHERE l.name = ? ORDER BY e.id",
        )
        .all(list) as StoredEmail[];
    } finally {
      db.close();
    }
  }

  /** The bytes HyperKitty was sent for the message it stores as (list, Message-ID), or null. */
  captured(list: string, storedId: string): Buffer | null {
    const file = join(this.dir, "captured", createHash("sha1").update(`${list}\n${storedId}`).digest("hex"));
    return existsSync(file) ? readFileSync(file) : null;
  }

  /** The email through HyperKitty's REST API (null: 404), by the hash of the id it stores. */
  async apiEmail(list: string, storedId: string): Promise<Record<string, unknown> | null> {
    const response = await fetch(`${this.base}api/list/${list}/email/${messageIdHash(storedId)}/`);
    if (response.status === 404) return null;
    if (response.status !== 200) throw new Error(`HyperKitty's API answered ${response.status}`);
    return (await response.json()) as Record<string, unknown>;
  }

  /** Delete an email as an administrator would by hand (Django's ORM, as HyperKitty's own views do). */
  async deleteEmail(list: string, storedId: string): Promise<void> {
    const script = "from hyperkitty.models import Email; import sys; print(Email.objects.get(mailinglist__name=sys.argv[1], message_id=sys.argv[2]).delete())";
    await run(DJANGO_ADMIN, ["shell", "-c", `import sys; sys.argv = ["x", ${JSON.stringify(list)}, ${JSON.stringify(storedId)}]; exec(${JSON.stringify(script)})`], { env: this.env(), timeout: 60_000 });
  }

  /** POST a message as mailman-hyperkitty would (a message HyperKitty held before mq-archive came). */
  async archiveDirectly(list: string, body: Buffer): Promise<number> {
    const form = new FormData();
    form.append("mlist", list);
    form.append("message", new Blob([body]), "message.txt");
    const response = await fetch(`${this.base}api/mailman/archive`, { method: "POST", headers: { Authorization: `Token ${this.key}` }, body: form });
    await response.text();
    return response.status;
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, MQA_HK_DIR: this.dir, MQA_HK_KEY: this.key, PYTHONPATH: HERE, DJANGO_SETTINGS_MODULE: "settings" };
  }
}

/**
 * The ids HyperKitty stores the messages under, computed by its own
 * get_message_id: not simply the Message-ID without <>, as Python's header
 * parser cuts an odd one short (<a@b.1@c> is stored as a@b.1). null: none.
 */
export async function storedIds(bodies: readonly Buffer[]): Promise<Array<string | null>> {
  const script = [
    "import base64, json, sys",
    "from email import message_from_bytes",
    "from email.message import EmailMessage",
    "from email.policy import default",
    "from hyperkitty.lib.utils import get_message_id",
    "for line in sys.stdin:",
    "    m = message_from_bytes(base64.b64decode(line), _class=EmailMessage, policy=default)",
    "    print(json.dumps(get_message_id(m) if 'Message-Id' in m else None))",
  ].join("\n");
  const child = execFile(PYTHON, ["-c", script], { maxBuffer: 16 * 1024 * 1024 });
  child.stdin!.end(bodies.map((b) => `${b.toString("base64")}\n`).join(""));
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, "close")) as [number];
  if (code !== 0) throw new Error(`computing HyperKitty's stored ids failed (exit ${code})`);
  return out.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as string | null);
}
