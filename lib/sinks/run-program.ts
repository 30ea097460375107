// Run one program (no shell) with bytes on its stdin and collect how it
// ended: exit status or signal, its pid, the start of its stderr. For the
// sinks that drive an archiver's own programs (public-inbox-mda). Never
// throws: a program that cannot start is an outcome.

import { spawn } from "node:child_process";

const STDERR_LIMIT = 4096;
/** How long to wait, after it exited, for the rest of its stderr (a child it left may hold it open). */
const STDERR_GRACE_MS = 1000;

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  input: Buffer;
  /** Kill the program (and whatever it started) after this long (ms); 0 or absent: no limit. */
  timeoutMs?: number;
}

export type RunOutcome =
  | { type: "exit"; pid: number; code: number | null; signal: NodeJS.Signals | null; timedOut: boolean; stderr: string }
  /** It never ran: `transient` when a system condition (ENOENT: not installed, EAGAIN, EMFILE) may pass. */
  | { type: "not-run"; transient: boolean; message: string };

export function runProgram(file: string, args: readonly string[], options: RunOptions): Promise<RunOutcome> {
  return new Promise((resolve) => {
    let child;
    try {
      // Its own process group, so a timeout ends the program and its children (git, for public-inbox).
      child = spawn(file, args, { detached: true, stdio: ["pipe", "ignore", "pipe"], env: options.env });
    } catch (err) {
      // Arguments spawn refuses (ERR_INVALID_ARG_*: a NUL in the environment) cannot run later either.
      const code = (err as { code?: unknown }).code;
      resolve({ type: "not-run", transient: typeof code === "string" && !code.startsWith("ERR_"), message: `cannot run ${file}: ${(err as Error).message}` });
      return;
    }
    const { stdin, stderr } = child;
    if (stdin === null || stderr === null) {
      child.on("error", () => {});
      resolve({ type: "not-run", transient: true, message: `cannot run ${file}: no pipes to it (out of file descriptors?)` });
      return;
    }
    let errText = "";
    stderr.on("data", (chunk: Buffer) => {
      if (errText.length < STDERR_LIMIT) errText += chunk.toString("utf8").slice(0, STDERR_LIMIT - errText.length);
    });
    // A program that exits without reading all its input closes the pipe early: its status says what happened.
    stdin.on("error", () => {});
    stdin.end(options.input);
    let timedOut = false;
    const timer = options.timeoutMs ? setTimeout(() => ((timedOut = true), killGroup(child.pid)), options.timeoutMs) : null;
    child.on("error", (err) => {
      if (timer) clearTimeout(timer);
      const code = (err as { code?: unknown }).code;
      const hint = code === "ENOENT" ? " (not installed, or not on PATH?)" : "";
      resolve({ type: "not-run", transient: true, message: `cannot run ${file}${hint}: ${err.message}` });
    });
    // Done once it exited and its stderr ended, or STDERR_GRACE_MS after its exit ("close" would wait
    // for a child it left holding stderr; "exit" alone may come before the last of its stderr).
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let stderrEnded = false;
    const finish = (): void => {
      if (exit === null || !stderrEnded) return;
      if (timer) clearTimeout(timer);
      stderr.destroy();
      resolve({ type: "exit", pid: child.pid ?? 0, ...exit, timedOut, stderr: errText.trim() });
    };
    const ended = (): void => {
      stderrEnded = true;
      finish();
    };
    stderr.on("end", ended).on("error", ended);
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      setTimeout(ended, STDERR_GRACE_MS).unref();
      finish();
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    /* already gone */
  }
}
