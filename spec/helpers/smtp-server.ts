// A real SMTP server for the smtp sink's tests: aiosmtpd under Debian's
// Python, with the handler in smtp_archive.py (byte-exact storage, an
// arrival log, scripted 4xx/5xx replies, an optional Message-ID dedupe).
// Every server started is killed by stopSmtpServers().

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "./tmp.js";
import { SYNC_CHILD } from "./sync-limit.js";

export const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./smtp_archive.py", import.meta.url));

/** Why the SMTP tests cannot run here, or null. */
export function smtpServerMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const probe = spawnSync(PYTHON, ["-c", "import aiosmtpd"], { encoding: "utf8", ...SYNC_CHILD });
  return probe.status === 0 ? null : `${PYTHON} has no aiosmtpd (apt-get install python3-aiosmtpd): ${probe.stderr.trim()}`;
}

export interface SmtpServerOptions {
  /** Where mail goes (default: a new temporary directory). */
  root?: string;
  /** Listen here (default: a port the system picks). */
  port?: number;
  /** Skip a Message-ID already stored for the recipient, as archives do. */
  dedupe?: boolean;
  /** Offer and require STARTTLS with this certificate, or with `implicit` speak TLS from the first byte (SMTPS). */
  tls?: { cert: string; key: string; implicit?: boolean };
  /** Require AUTH with this USER:PASSWORD. */
  auth?: string;
  /** Take messages up to this many bytes (announced as SIZE). */
  size?: number;
}

export interface Arrival {
  n: number;
  from: string;
  to: string[];
  message_id: string;
  sha256: string;
  mail_options: string[];
  /** The client's port: the same for messages sent over one connection. */
  client_port: number;
  /** "stored", "duplicate", or the reply a rule gave. */
  outcome: string;
}

export type Rule = { match: string; times?: number } & ({ reply: string } | { hold: number });

const running = new Set<SmtpTestServer>();

export class SmtpTestServer {
  private constructor(
    readonly root: string,
    readonly port: number,
    private readonly options: SmtpServerOptions,
    private child: ChildProcess,
  ) {}

  static async start(options: SmtpServerOptions = {}): Promise<SmtpTestServer> {
    const root = options.root ?? tempDir("mqa-smtp-");
    const { child, port } = await launch(root, options);
    const server = new SmtpTestServer(root, port, { ...options, root }, child);
    running.add(server);
    return server;
  }

  /** smtp://127.0.0.1:PORT (the scheme and credentials as given). */
  url(scheme = "smtp", credentials = ""): string {
    return `${scheme}://${credentials === "" ? "" : `${credentials}@`}127.0.0.1:${this.port}`;
  }

  /** Replace the rules (read again at each DATA). */
  rules(rules: readonly Rule[]): void {
    writeFileSync(join(this.root, "rules.json"), JSON.stringify(rules));
  }

  /** Every DATA the server saw, in order. */
  arrivals(): Arrival[] {
    const log = join(this.root, "arrivals.jsonl");
    if (!existsSync(log)) return [];
    return readFileSync(log, "utf8").trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Arrival);
  }

  /** What is stored for `address`, in arrival order. */
  stored(address: string): Buffer[] {
    return storedIn(this.root, address);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.alive) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill(signal);
      await exited;
    }
    running.delete(this);
  }

  /** Start again on the same port, over the same directory. */
  async restart(): Promise<void> {
    await this.stop();
    this.child = (await launch(this.root, { ...this.options, port: this.port })).child;
    running.add(this);
  }
}

/** What is stored for `address` under a server's root, in arrival order. */
export function storedIn(root: string, address: string): Buffer[] {
  const dir = join(root, address.toLowerCase().replace(/[^A-Za-z0-9@._+-]/g, "_"), "new");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().map((name) => readFileSync(join(dir, name)));
}

export async function stopSmtpServers(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop("SIGKILL")));
}

function launch(root: string, options: SmtpServerOptions): Promise<{ child: ChildProcess; port: number }> {
  const args = [SCRIPT, "--listen", `127.0.0.1:${options.port ?? 0}`, "--root", root];
  if (options.dedupe) args.push("--dedupe");
  if (options.tls) args.push("--tls-cert", options.tls.cert, "--tls-key", options.tls.key);
  if (options.tls?.implicit) args.push("--implicit-tls");
  if (options.auth) args.push("--auth", options.auth);
  if (options.size) args.push("--size", String(options.size));
  const child = spawn(PYTHON, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the SMTP test server did not start in 20 s: ${stderr}`));
    }, 20_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the SMTP test server exited (${code}) before listening: ${stderr}`));
    });
  });
}

/** A self-signed certificate for 127.0.0.1 (its own CA), made with openssl; null without openssl. */
export function selfSignedCert(dir: string): { cert: string; key: string } | null {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const made = spawnSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
  ], { encoding: "utf8", ...SYNC_CHILD });
  return made.status === 0 ? { cert, key } : null;
}
