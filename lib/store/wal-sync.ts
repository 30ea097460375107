// Group fsync of a SQLite WAL file: the state commits with
// synchronous=NORMAL (no fsync in the commit) and calls sync() before it
// acknowledges anything the commits cover. The fsync runs on a libuv thread,
// so the event loop goes on; concurrent calls share one fsync when they can
// (group commit), and a call never resolves before the commits made before
// it are on disk.

import { open, type FileHandle } from "node:fs/promises";
import { StateError } from "../errors.js";

export class WalSync {
  private wanted = 0;
  private done = 0;
  private running: Promise<void> | null = null;
  private handle: FileHandle | null = null;

  /** `db`: the database file; its WAL is `${db}-wal`. */
  constructor(private readonly db: string) {}

  sync(): Promise<void> {
    const wanted = ++this.wanted;
    this.running ??= this.loop().finally(() => (this.running = null));
    return this.running.then(() => (this.done >= wanted ? undefined : this.sync()));
  }

  private async loop(): Promise<void> {
    while (this.done < this.wanted) {
      const target = this.wanted;
      this.handle ??= await open(`${this.db}-wal`, "r");
      try {
        await this.handle.sync();
      } catch (err) {
        throw new StateError("STATE_UNUSABLE", `cannot fsync ${this.db}-wal: ${(err as Error).message}`, { cause: err });
      }
      this.done = target;
    }
  }

  /** Close the WAL's file handle (the database closes on its own). */
  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }
}
