// List the messages of a maildir (cur/ and new/, oldest name first), or of
// a plain directory of message files when it has neither.

import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { NoInputError } from "../errors.js";

export interface MaildirMessage {
  /** The file, for error reports. */
  path: string;
  body: Buffer;
}

export async function listMaildir(dir: string): Promise<string[]> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new NoInputError(`${dir} is not a directory`);
  } catch (err) {
    if (err instanceof NoInputError) throw err;
    throw new NoInputError(`cannot read maildir ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const subdirs = ["cur", "new"];
  const hasMaildirLayout = (await Promise.all(subdirs.map((d) => isDir(join(dir, d))))).some(Boolean);
  const roots = hasMaildirLayout ? subdirs.map((d) => join(dir, d)) : [dir];
  const files: Array<{ name: string; path: string }> = [];
  for (const root of roots) {
    if (!(await isDir(root))) continue;
    for (const entry of await readdir(root, { withFileTypes: true })) {
      if (entry.isFile() && !entry.name.startsWith(".")) files.push({ name: entry.name, path: join(root, entry.name) });
    }
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return files.map((f) => f.path);
}

export async function* readMaildir(dir: string): AsyncGenerator<MaildirMessage> {
  for (const path of await listMaildir(dir)) yield { path, body: await readFile(path) };
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
