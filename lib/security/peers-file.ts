// The publisher's allowlist: one peer per line,
//
//   <z85-public-key> [name=NAME] [lists=GLOB[,GLOB...]]    # comment
//
// A comment starts at a "#" at the beginning of a line or after white space
// ("#" is one of Z85's characters, so it may appear inside a key).
//
// no `lists=` means every list. Parsed strictly: a typo is an error naming
// the line, never a silently widened or narrowed grant.

import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.js";
import { fingerprint, keyBytes } from "./keys.js";
import { ALL_LISTS, listMatcher, type ListMatcher } from "./list-match.js";

export interface PeerEntry {
  key: string;
  name: string;
  /** List globs, or null for every list. */
  lists: string[] | null;
}

export interface PeerGrantEntry extends PeerEntry {
  allowed: ListMatcher;
  /** May receive every list, and so may follow PUB. */
  all: boolean;
}

export function parsePeers(text: string, source: string): PeerEntry[] {
  const entries: PeerEntry[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    // "#" is also a Z85 character: a comment starts at a "#" that begins a word.
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "") return;
    const where = `${source}:${index + 1}`;
    const [key, ...attributes] = line.split(/\s+/);
    if (!key || !keyBytes(key)) throw new ConfigError(`${where}: ${JSON.stringify(key)} is not a Z85 public key (40 characters)`);
    if (seen.has(key)) throw new ConfigError(`${where}: key already listed on line ${seen.get(key)}`);
    seen.set(key, index + 1);
    const entry: PeerEntry = { key, name: fingerprint(key), lists: null };
    const given = new Set<string>();
    for (const attribute of attributes) {
      const m = /^(name|lists)=(.+)$/.exec(attribute);
      if (!m) throw new ConfigError(`${where}: unknown attribute ${JSON.stringify(attribute)} (use name=NAME and lists=GLOB,...)`);
      if (given.has(m[1]!)) throw new ConfigError(`${where}: ${m[1]}= given twice`);
      given.add(m[1]!);
      if (m[1] === "name") entry.name = m[2]!;
      else entry.lists = m[2]!.split(",").filter((g) => g !== "");
    }
    if (entry.lists !== null && entry.lists.length === 0) throw new ConfigError(`${where}: lists= names no list`);
    entries.push(entry);
  });
  return entries;
}

export function readPeersFile(file: string): PeerEntry[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read peers file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parsePeers(text, file);
}

/** Who may connect, and what each may receive. Immutable: a reload builds a new one. */
export class PeerAcl {
  private readonly byKey: Map<string, PeerGrantEntry>;

  constructor(entries: readonly PeerEntry[]) {
    this.byKey = new Map(
      entries.map((e) => {
        const allowed = listMatcher(e.lists);
        return [e.key, { ...e, allowed, all: allowed === ALL_LISTS }];
      }),
    );
  }

  get(key: string): PeerGrantEntry | undefined {
    return this.byKey.get(key);
  }

  entries(): PeerGrantEntry[] {
    return [...this.byKey.values()];
  }

  /** Keys that `next` no longer admits, and keys that lose some lists. */
  changesTo(next: PeerAcl): { removed: string[]; narrowed: string[] } {
    const removed: string[] = [];
    const narrowed: string[] = [];
    for (const [key, entry] of this.byKey) {
      const after = next.get(key);
      if (after === undefined) removed.push(key);
      else if (JSON.stringify(after.lists) !== JSON.stringify(entry.lists)) narrowed.push(key);
    }
    return { removed, narrowed };
  }
}
