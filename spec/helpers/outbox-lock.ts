// Another process holding an outbox's write lock (an open IMMEDIATE
// transaction), as a stuck `publish` or an operator's sqlite3 shell would:
// every other writer gets SQLITE_BUSY until it is released. Killed after
// each test that did not release it.

import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = `
const Database = require("better-sqlite3");
const db = new Database(process.argv[1], { fileMustExist: true });
db.exec("BEGIN IMMEDIATE");
process.stdout.write("locked\\n");
process.stdin.resume();
process.stdin.on("end", () => { db.exec("ROLLBACK"); db.close(); process.exit(0); });
`;

export interface OutboxLock {
  readonly pid: number;
  /** Roll back and wait for the process to end. */
  release(): Promise<void>;
}

const holders = new Map<ChildProcess, Promise<void>>();

export function holdWriteLock(db: string): Promise<OutboxLock> {
  const child = spawn(process.execPath, ["-e", SCRIPT, db], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  holders.set(child, exited);
  void exited.then(() => holders.delete(child));
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      if (!d.toString().includes("locked")) return;
      resolve({
        pid: child.pid!,
        release: async () => {
          child.stdin.end();
          await exited;
        },
      });
    });
    void exited.then(() => reject(new Error(`the lock holder exited before locking: ${stderr}`)));
  });
}

if (typeof afterEach === "function") afterEach(async () => {
  const left = [...holders];
  for (const [child] of left) child.kill("SIGKILL");
  await Promise.all(left.map(([, exited]) => exited));
});
