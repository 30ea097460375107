// Notices records that other processes commit to the outbox. Every commit
// touches OUTBOX-wake once it is visible (see Outbox.wake), so an inotify
// watch on the directory wakes us within a millisecond, and a poll covers
// file systems where watching fails. Other files' events are ignored: a
// write to the WAL comes before its commit is visible (the wal-index update,
// which no watch sees), and checkpoints add nothing.

import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { wakeFile } from "../store/record-log.js";

export interface WatcherOptions {
  dbPath: string;
  pollMs: number;
  /** Called (coalesced) whenever the outbox may have changed. */
  onChange: () => void;
  onError: (err: Error) => void;
}

export class OutboxWatcher {
  private fsWatcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private scheduled = false;

  constructor(private readonly options: WatcherOptions) {}

  start(): void {
    const wake = basename(wakeFile(this.options.dbPath));
    try {
      this.fsWatcher = watch(dirname(this.options.dbPath), { persistent: false }, (_event, file) => {
        if (file === null || file === wake) this.schedule();
      });
      this.fsWatcher.on("error", (err) => this.options.onError(err));
    } catch (err) {
      this.options.onError(err as Error);
    }
    this.timer = setInterval(() => this.schedule(), this.options.pollMs);
    this.timer.unref();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.options.onChange();
    });
  }

  close(): void {
    this.fsWatcher?.close();
    this.fsWatcher = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
