// Real child processes of the built CLI (dist/bin/mq-archive.js): one-shot
// commands and daemons whose JSON log lines a test can wait on. Every daemon
// a test starts is killed after it.

import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait.js";

export const BIN = fileURLToPath(new URL("../../dist/bin/mq-archive.js", import.meta.url));

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  options: { input?: Buffer | string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

const running = new Set<Daemon>();

export class Daemon {
  readonly logs: LogLine[] = [];
  readonly stderrText: string[] = [];
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exited = false;
  /** How it ended: its exit code or the signal that killed it (null while it runs). */
  ended: string | null = null;

  private constructor(
    readonly args: string[],
    private readonly child: ChildProcess,
  ) {
    let partial = "";
    child.stderr!.on("data", (d: Buffer) => {
      partial += d.toString();
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        this.stderrText.push(line);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          /* not a log line */
        }
      }
    });
    child.stdout!.resume();
    this.exit = new Promise((resolve) =>
      child.on("exit", (code, signal) => {
        this.exited = true;
        this.ended = signal ?? String(code);
        running.delete(this);
        resolve({ code, signal });
      }),
    );
  }

  static start(args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const daemon = new Daemon(args, child);
    running.add(daemon);
    started.push(daemon);
    return daemon;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return !this.exited;
  }

  async waitForLog(match: string | ((line: LogLine) => boolean), timeoutMs = 20_000): Promise<LogLine> {
    const test = typeof match === "string" ? (l: LogLine) => l.msg === match : match;
    return waitFor(() => {
      const found = this.logs.find(test);
      if (found === undefined && this.exited) throw new Error(`${this.args[0]} exited: ${this.stderrText.slice(-5).join(" | ")}`);
      return found;
    }, {
      timeoutMs,
      what: `log ${String(match)} from ${this.args[0]} (stderr: ${this.stderrText.slice(-5).join(" | ")})`,
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(signal);
  }

  waitExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exit;
  }

  /** SIGTERM and wait for a clean exit. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.signal("SIGCONT");
    this.signal("SIGTERM");
    return this.exit;
  }

  async kill9(): Promise<void> {
    this.signal("SIGKILL");
    await this.exit;
  }

  /** Resident memory in bytes, from /proc. */
  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kb * 1024;
  }
}

const started: Daemon[] = [];

/** Kill every daemon still running (mocha does this after each test; other callers call it). */
export async function killAllDaemons(): Promise<void> {
  const daemons = [...running];
  for (const d of daemons) {
    d.signal("SIGCONT");
    d.signal("SIGKILL");
  }
  await Promise.all(daemons.map((d) => d.waitExit()));
}

// Outside mocha (the chaos runner) there is no afterEach: its caller cleans up.
if (typeof afterEach === "function") afterEach(async function () {
  if (this.currentTest?.state === "failed" || process.env.MQA_DUMP_LOGS) {
    for (const d of started) {
      process.stderr.write(`\n--- last log lines of ${d.args.slice(0, 1).join(" ")} (pid ${d.pid}) ---\n`);
      process.stderr.write(`${d.stderrText.slice(-(Number(process.env.MQA_DUMP_LOGS) || 25)).join("\n")}\n`);
    }
  }
  started.length = 0;
  await killAllDaemons();
});
