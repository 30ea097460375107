// exec:COMMAND — run COMMAND (through /bin/sh) once per record, the message
// (or a list event's JSON) on stdin, MQA_KIND (message or event), MQA_LIST,
// MQA_SEQ, MQA_MESSAGE_ID (and MQA_OUTBOX, MQA_RECEIVED_AT) in its environment. Exit 0: stored. Exit 75
// (EX_TEMPFAIL): try again later, for as long as it takes. Anything else
// (another status, a signal, a value the environment cannot carry): a
// failed attempt; after a few, a dead letter.
//
// A command is delivered at least once: after a crash between its exit and
// our commit it runs again for the same MQA_SEQ, so archivers such as
// public-inbox or MHonArc that skip known Message-IDs stay exactly-once.

import { spawn } from "node:child_process";
import { SinkError } from "../errors.js";
import { storeSafeLists, type Sink, type SinkContext, type SinkRecord } from "./sink.js";

export const EX_TEMPFAIL = 75;
const STDERR_LIMIT = 2048;

export interface ExecOptions {
  /** Kill the command after this long (ms); that counts as a failed attempt. 0: no limit. */
  timeoutMs?: number;
}

export class ExecSink implements Sink {
  readonly name: string;

  constructor(
    private readonly command: string,
    private readonly options: ExecOptions = {},
  ) {
    this.name = `exec:${command}`;
  }

  async start(_context: SinkContext): Promise<void> {}

  async store(records: readonly SinkRecord[]): Promise<void> {
    await storeSafeLists(records, (safe) => this.runAll(safe));
  }

  private async runAll(records: readonly SinkRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i++) {
      const outcome = await this.run(records[i]!);
      if (outcome === null) continue;
      throw new SinkError(outcome.message, { transient: outcome.transient, stored: i });
    }
  }

  private run(record: SinkRecord): Promise<{ transient: boolean; message: string } | null> {
    const env = recordEnv(record);
    // An environment cannot hold a NUL, so such a record can never be run: say so (publish derives a clean id).
    const bad = Object.entries(env).find(([, value]) => value.includes("\0"));
    if (bad !== undefined) {
      return Promise.resolve({ transient: false, message: `${bad[0]} holds a NUL byte, which no command environment can carry: not run` });
    }
    return new Promise((resolve) => {
      let child;
      try {
        // Its own process group, so a timeout ends the command and whatever it started.
        child = spawn("/bin/sh", ["-c", this.command], {
          detached: true,
          stdio: ["pipe", "ignore", "pipe"],
          env: { ...process.env, ...env },
        });
      } catch (err) {
        // Arguments it refuses (ERR_INVALID_ARG_*) cannot run later either; a system error (ENOMEM, EAGAIN) may pass.
        const code = (err as { code?: unknown }).code;
        const transient = typeof code === "string" && !code.startsWith("ERR_");
        resolve({ transient, message: `cannot run ${this.command}: ${(err as Error).message}` });
        return;
      }
      if (child.stdin === null || child.stderr === null) {
        // Out of file descriptors (EMFILE): no pipes; the "error" event follows. Try again later.
        child.on("error", () => {});
        resolve({ transient: true, message: `cannot run ${this.command}: no pipes to it (out of file descriptors?)` });
        return;
      }
      const { stdin, stderr: errors } = child;
      let stderr = "";
      errors.on("data", (chunk: Buffer) => {
        if (stderr.length < STDERR_LIMIT) stderr += chunk.toString("utf8").slice(0, STDERR_LIMIT - stderr.length);
      });
      // A command that does not read its input closes the pipe early: not our failure.
      stdin.on("error", () => {});
      stdin.end(record.body);
      const timer =
        this.options.timeoutMs && this.options.timeoutMs > 0
          ? setTimeout(() => killGroup(child.pid), this.options.timeoutMs)
          : null;
      child.on("error", (err) => {
        if (timer) clearTimeout(timer);
        resolve({ transient: true, message: `cannot run ${this.command}: ${err.message}` });
      });
      // "exit", not "close": a background process the command left holding stderr must not stall us.
      child.on("exit", (code, signal) => {
        if (timer) clearTimeout(timer);
        errors.destroy();
        const detail = stderr.trim() === "" ? "" : `: ${stderr.trim()}`;
        if (code === 0) resolve(null);
        else if (code === EX_TEMPFAIL) resolve({ transient: true, message: `exit ${code} (temporary failure)${detail}` });
        else resolve({ transient: false, message: `${signal === null ? `exit ${code}` : `killed by ${signal}`}${detail}` });
      });
    });
  }

  async close(): Promise<void> {}
}

/** What the command learns about the record, besides the message on stdin. */
function recordEnv(record: SinkRecord): Record<string, string> {
  return {
    MQA_LIST: record.list,
    MQA_SEQ: String(record.seq),
    MQA_MESSAGE_ID: record.messageId,
    MQA_OUTBOX: record.outbox,
    MQA_RECEIVED_AT: new Date(record.receivedAt).toISOString(),
    MQA_KIND: record.kind,
  };
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    /* already gone */
  }
}
