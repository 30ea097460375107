// Locks no process can hold: a mhonarc killed by a power cut or a crash of
// the machine leaves DIR/<list>/.mhonarc.lck behind, and every later run
// exits 75 until someone removes it. A lock directory older than the last
// boot is such a one (no process outlives a boot), so start() removes it.
// A younger lock may belong to a running mhonarc: it is left alone, and the
// temporary failure it causes says where it is.

import { readdir, readFile, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** Remove DIR/<list>/LOCK directories made before the last boot; the ones removed. */
export async function removeLocksFromBeforeBoot(dir: string, lockName: string): Promise<string[]> {
  const boot = await bootTimeMs();
  if (boot === null) return [];
  const removed: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const lock = join(dir, entry.name, lockName);
    const info = await stat(lock).catch(() => null);
    if (info === null || !info.isDirectory() || info.mtimeMs >= boot) continue;
    try {
      await rmdir(lock);
      removed.push(lock);
    } catch {
      /* not empty, or gone already: not a lock we understand */
    }
  }
  return removed;
}

/** The boot time (Linux: btime in /proc/stat), or null where it cannot be known. */
async function bootTimeMs(): Promise<number | null> {
  try {
    const btime = /^btime (\d+)$/m.exec(await readFile("/proc/stat", "utf8"));
    return btime === null ? null : Number(btime[1]) * 1000;
  } catch {
    return null;
  }
}
