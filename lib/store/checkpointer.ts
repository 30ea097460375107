// WAL checkpoints off the event loop. SQLite checkpoints inside a commit
// once the WAL passes 1,000 pages, copying them into the database and
// fsyncing it: tens of milliseconds during which a daemon answers no one.
// A daemon turns that off for its own connection and lets this worker
// thread, with a connection of its own, checkpoint every second instead.

import { createRequire } from "node:module";
import type { Worker } from "node:worker_threads";

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
  /** Settles when the thread has ended, whenever and however it ends. */
  private readonly ended: Promise<void>;

  constructor(path: string, everyMs = 1000) {
    // Loaded here: the outbox imports this file, and a cold `publish` need not pay for worker_threads (~7 ms).
    const { Worker } = require("node:worker_threads") as typeof import("node:worker_threads");
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, everyMs, sqlite: require.resolve("better-sqlite3") },
    });
    this.ended = new Promise((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.unref();
    this.worker.on("error", () => {});
  }

  /** A last checkpoint, then the thread ends; settles when it has (it may still touch the files until then). */
  close(): Promise<void> {
    this.worker.ref(); // unref'd while it runs; whoever waits for its end must keep the process alive meanwhile
    this.worker.postMessage("close");
    return this.ended;
  }
}
