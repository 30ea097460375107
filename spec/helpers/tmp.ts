// Temporary directories that are removed after each test that made them.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];

export function tempDir(prefix = "mqa-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// Outside mocha (the chaos runner) there is no afterEach: its caller cleans up.
if (typeof afterEach === "function") afterEach(() => {
  if (process.env.MQA_KEEP_TMP === undefined) removeTempDirs();
});
