// Small durable-file helpers shared by the file sinks, and the modes what
// they create gets: archives hold private bodies, so never readable by others.

import { open, mkdir, stat } from "node:fs/promises";

/** Modes for the files and directories a sink creates (a stricter umask still narrows them). */
export interface Modes {
  file: number;
  directory: number;
}

export const OWNER_ONLY: Modes = { file: 0o600, directory: 0o700 };
const GROUP_READABLE: Modes = { file: 0o640, directory: 0o750 };

/**
 * Create a sink's directory (owner-only) if it is missing, and say which
 * modes what goes in it gets: group-readable when the directory is (an
 * operator letting a reader's group in), else owner-only.
 */
export async function prepareSinkDirectory(dir: string): Promise<Modes> {
  await ensureDirectory(dir, OWNER_ONLY.directory);
  return ((await stat(dir)).mode & 0o040) !== 0 ? GROUP_READABLE : OWNER_ONLY;
}

/** Write a whole file and fsync it before returning. */
export async function writeFileDurably(path: string, data: Buffer, mode: number): Promise<void> {
  const handle = await open(path, "w", mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a directory so the renames and creations in it survive a crash. */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function ensureDirectory(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true, mode });
}

/** Run `fn` over items with at most `limit` in flight (the libuv pool has 4 threads). */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}
