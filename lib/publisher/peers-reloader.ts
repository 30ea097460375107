// Keeps a publisher's allowlist in step with its peers file: re-read when the
// file changes (editors often replace it, so the directory is watched) and
// on demand (SIGHUP). A file that no longer parses is reported and the last
// good allowlist stays in force.

import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import { PeerAcl, readPeersFile } from "../security/peers-file.js";
import type { Publisher } from "./publisher.js";

export class PeersReloader {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private last = "";

  constructor(
    private readonly file: string,
    private readonly publisher: Publisher,
    private readonly log: Logger,
  ) {}

  start(initial: PeerAcl): void {
    this.last = JSON.stringify(initial.entries().map((e) => [e.key, e.name, e.lists]));
    const name = basename(this.file);
    try {
      this.watcher = watch(dirname(this.file), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) this.soon();
      });
      this.watcher.on("error", (err) => this.log.warn({ err }, "cannot watch the peers file; reload with SIGHUP"));
    } catch (err) {
      this.log.warn({ err }, "cannot watch the peers file; reload with SIGHUP");
    }
  }

  /** Coalesce a burst of change events (write, rename) into one reload. */
  private soon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), 50);
  }

  async reload(): Promise<void> {
    let acl: PeerAcl;
    try {
      acl = new PeerAcl(readPeersFile(this.file));
    } catch (err) {
      this.log.error({ file: this.file, reason: errorMessage(err) }, "peers file not reloaded; the previous allowlist stays in force");
      return;
    }
    const signature = JSON.stringify(acl.entries().map((e) => [e.key, e.name, e.lists]));
    if (signature === this.last) return;
    this.last = signature;
    await this.publisher.setPeers(acl);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearTimeout(this.timer);
  }
}
