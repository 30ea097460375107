// WAL checkpoints off the event loop. SQLite checkpoints inside a commit
// once the WAL passes 1,000 pages, copying them into the database and
// fsyncing it: tens of milliseconds during which a daemon answers no one.
// A daemon turns that off for its own connection and lets this worker
// thread, with a connection of its own, checkpoint every second instead.

import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

const require = createRequire(import.meta.url);

const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.sqlite);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma("busy_timeout = 1000");
const tick = () => { try { db.pragma("wal_checkpoint(PASSIVE)"); } catch {} };
const timer = setInterval(tick, workerData.everyMs);
parentPort.on("message", () => { clearInterval(timer); tick(); db.close(); parentPort.close(); });
`;

export class Checkpointer {
  private readonly worker: Worker;

  constructor(path: string, everyMs = 1000) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, everyMs, sqlite: require.resolve("better-sqlite3") },
    });
    this.worker.unref();
    this.worker.on("error", () => {});
  }

  /** A last checkpoint, then the thread ends (the caller need not wait). */
  close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.postMessage("close");
    return exited;
  }
}
