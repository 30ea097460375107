// public-inbox-mda's emergency Maildir (PI_EMERGENCY). -mda writes every
// message there first and removes it only once an inbox took it: a
// duplicate, a spam verdict, a filter that ignores it, a refusal (65), an
// unknown recipient (67) or a crash all leave the copy in new/ (a kill, in
// tmp/), and the Maildir grows with nobody told.
//
// The copies our own runs leave are named after the -mda process
// ("TIME.PID_N.HOST"): each is removed once its outcome is accounted for
// (the message is in the inbox, or the sink failed it: retried, or kept as
// a dead letter with its bytes), so none of them piles up. Anything else
// found there (another -mda's, the MTA's, or ours from before a crash) is
// left alone and reported: at start and whenever the count changes.

import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.js";

export class EmergencyMaildir {
  private reported = 0;

  constructor(readonly dir: string) {}

  /** Remove what the -mda process `pid`, started at `startedAt` (ms), left; returns how many files. */
  async removeCopiesOf(pid: number, startedAt: number): Promise<number> {
    const ours = new RegExp(`^(\\d+)\\.${pid}_\\d+\\.`);
    let removed = 0;
    for (const sub of ["new", "tmp"]) {
      for (const name of await this.list(sub)) {
        // The time in the name tells a recycled pid's older copy apart.
        const time = ours.exec(name)?.[1];
        if (time === undefined || Number(time) < Math.floor(startedAt / 1000)) continue;
        await rm(join(this.dir, sub, name), { force: true });
        removed++;
      }
    }
    return removed;
  }

  /** Warn when messages wait in new/ and their number changed since the last report. */
  async report(log: Logger): Promise<void> {
    const count = (await this.list("new")).length;
    if (count === this.reported) return;
    this.reported = count;
    if (count === 0) {
      log.info({ emergency: this.dir }, "public-inbox emergency Maildir is empty again");
      return;
    }
    log.warn(
      { emergency: join(this.dir, "new"), count },
      "public-inbox emergency Maildir holds messages -mda did not store (not from this sink's runs, or left by a crash): look at them, feed them to public-inbox-mda or remove them",
    );
  }

  private async list(sub: string): Promise<string[]> {
    try {
      return await readdir(join(this.dir, sub));
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return [];
      throw err;
    }
  }
}
