// A small filesystem to fill: a tmpfs mounted for one test. Mounting needs
// root (or CAP_SYS_ADMIN); without it a test says so and skips.

import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./tmp.js";
import { SYNC_CHILD } from "./sync-limit.js";

export interface SmallDisk {
  dir: string;
  unmount: () => void;
}

/** Mount a tmpfs of `size` at a new directory, or the reason (a string) this machine does not allow it. */
export function smallDisk(size: string): SmallDisk | string {
  const dir = join(tempDir("mqa-small-disk-"), "fs");
  mkdirSync(dir);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "pipe", ...SYNC_CHILD });
  } catch (err) {
    return `cannot mount a tmpfs here (${(err as Error).message.split("\n")[0]})`;
  }
  return { dir, unmount: () => execFileSync("umount", ["-l", dir], SYNC_CHILD) };
}

/** Fill the disk with one file, leaving about `leave` bytes; returns the file. */
export function fill(dir: string, leave: number): string {
  const file = join(dir, "filler");
  const out = execFileSync("df", ["-B1", "--output=avail", dir], { encoding: "utf8", ...SYNC_CHILD });
  const avail = Number(out.trim().split("\n").pop());
  writeFileSync(file, Buffer.alloc(Math.max(0, avail - leave)));
  return file;
}
