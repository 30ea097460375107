// Finding MHonArc: the `mhonarc` program on PATH, the perl its first line
// names, and the library directories its `use lib` line adds (Debian:
// /usr/share/mhonarc), so that the database check reads headers with the
// same code mhonarc does.

import { constants } from "node:fs";
import { access, open } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { SinkError } from "../errors.js";
import type { MhonarcInstall } from "./mhonarc-db.js";

export async function findMhonarc(): Promise<MhonarcInstall> {
  const program = await onPath("mhonarc");
  if (program === null) {
    throw new SinkError("mhonarc is not installed (not found on PATH): install it, e.g. `apt-get install mhonarc` on Debian", {
      transient: false,
    });
  }
  const head = await readHead(program);
  const shebang = /^#!\s*(\S+)(?:[ \t]+(\S+))?/.exec(head);
  // `#!/usr/bin/env perl` names perl only through PATH.
  const perl = shebang === null ? "perl" : shebang[1]!.endsWith("/env") ? (shebang[2] ?? "perl") : shebang[1]!;
  const libDirs = [...head.matchAll(/^use lib qw\(([^)]*)\)/gm)].flatMap((m) => m[1]!.trim().split(/\s+/)).filter((d) => d !== "");
  return { program, perl, libDirs };
}

async function onPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

async function readHead(file: string): Promise<string> {
  const handle = await open(file, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    return buffer.subarray(0, bytesRead).toString("latin1");
  } finally {
    await handle.close();
  }
}
