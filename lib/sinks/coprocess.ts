// A helper program kept running beside a sink, asked one question at a time
// over its stdin: each request is answered by one line on its stdout. Used
// where starting the program costs more than the question (perl loading
// public-inbox's modules: ~0.3 s of CPU, a lookup ~1 ms). A request that
// gets no answer in time, or a program that dies, fails that request and
// the program is gone: the caller starts another.

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";

const STDERR_LIMIT = 4096;
const STOP_GRACE_MS = 2000;

interface Pending {
  resolve: (line: string) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
}

export class Coprocess {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffered = "";
  private stderr = "";
  private pending: Pending | null = null;
  /** Why it cannot answer any more (exited, failed to start), or null while it can. */
  private gone: string | null = null;
  private readonly exited: Promise<void>;

  constructor(
    private readonly file: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
  ) {
    // Its own process group, so a kill ends it and whatever it started (git cat-file, for public-inbox).
    this.child = spawn(file, args, { detached: true, stdio: ["pipe", "pipe", "pipe"], env });
    this.child.stdout.setEncoding("utf8").on("data", (text: string) => this.read(text));
    this.child.stderr.setEncoding("utf8").on("data", (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_LIMIT);
    });
    this.child.stdin.on("error", () => {}); // it died: "exit" says so
    this.exited = new Promise((resolve) => {
      this.child.on("error", (err) => {
        const hint = (err as { code?: string }).code === "ENOENT" ? " (not installed, or not on PATH?)" : "";
        this.fail(`cannot run ${file}${hint}: ${err.message}`);
        resolve();
      });
      this.child.on("exit", (code, signal) => {
        this.fail(`${file} ${signal === null ? `exited ${code}` : `was killed by ${signal}`}${this.stderrTail()}`);
        resolve();
      });
    });
  }

  /** Send one request; resolves with the line that answers it. */
  ask(request: Buffer, timeoutMs = 0): Promise<string> {
    if (this.gone !== null) return Promise.reject(new Error(this.gone));
    if (this.pending !== null) return Promise.reject(new Error(`${this.file}: a request is already waiting for its answer`));
    return new Promise((resolve, reject) => {
      const timer = timeoutMs > 0 ? setTimeout(() => this.timedOut(timeoutMs), timeoutMs) : null;
      this.pending = { resolve, reject, timer };
      this.child.stdin.write(request);
    });
  }

  /** Close its stdin (it should exit at end of input); kill it if it has not after a grace period. */
  async stop(): Promise<void> {
    this.child.stdin.end();
    const grace = setTimeout(() => this.kill(), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(grace);
  }

  kill(): void {
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }

  private read(text: string): void {
    this.buffered += text;
    for (let nl = this.buffered.indexOf("\n"); nl >= 0; nl = this.buffered.indexOf("\n")) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const pending = this.take();
      if (pending === null) this.fail(`${this.file} answered what nobody asked: ${line.slice(0, 200)}`);
      else pending.resolve(line);
    }
  }

  private timedOut(timeoutMs: number): void {
    this.fail(`${this.file} gave no answer within ${timeoutMs} ms${this.stderrTail()}`);
    this.kill();
  }

  private fail(reason: string): void {
    this.gone ??= reason;
    this.take()?.reject(new Error(reason));
  }

  private take(): Pending | null {
    const pending = this.pending;
    this.pending = null;
    if (pending?.timer) clearTimeout(pending.timer);
    return pending;
  }

  private stderrTail(): string {
    const text = this.stderr.trim();
    return text === "" ? "" : `: ${text}`;
  }
}
